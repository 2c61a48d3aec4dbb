"""ganbench: a benchmark and diagnostics suite for the ways GAN training fails.

Importing ganbench changes nothing in the importing process (no environment variables, no
allocator or thread settings); the settings that make trials fast apply only in the processes
that train (:mod:`ganbench.run.process`).
"""

__version__ = "0.1.0"
