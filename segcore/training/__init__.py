"""Training: one config, a loop that yields events, losses and run records."""
