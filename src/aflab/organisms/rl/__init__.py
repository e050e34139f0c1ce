"""RL toward the lab's objective (``aflab train rl``): rewards, and training through TRL."""
