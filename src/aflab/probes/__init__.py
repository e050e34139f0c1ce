"""White-box studies of open models: activations collected on a run's own transcripts, linear
probes trained on them (grouped by query), and steering along a probe's direction measured by the
ordinary pipeline. See docs/probes.md."""
