"""Shared training code: batched models, parameterisations and optimisers (incl. Langevin)."""
