"""Training and evaluation: the separator and detector trainers, losses, run state, metrics."""
