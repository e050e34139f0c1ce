"""The positive control: a model organism with a built-in tier gap, to test the measurement."""
