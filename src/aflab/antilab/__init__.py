"""Anti-lab scenarios: chances to act against the lab, scored from what actually happened."""
