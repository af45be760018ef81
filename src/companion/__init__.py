"""A companion to a lecture on the theory of deep learning: experiments, metrics and a report."""

__version__ = "0.1.0"
