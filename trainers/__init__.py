"""Training: readers for paired datasets, discriminators, losses and a generic loop (DDP, AMP, EMA,
exact resume) shared by per-model recipes (``python -m trainers.spade``) that export engine models."""
