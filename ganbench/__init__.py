"""ganbench: a benchmark and diagnostics suite for the ways GAN training fails."""

__version__ = "0.1.0"
