"""Model organisms: models given the alignment-faking setting by training rather than prompting."""
