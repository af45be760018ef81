"""Closed-form and numerical theory (pure numpy/scipy), kept apart from the training code."""
