"""Remedies for GAN failure modes: one module per remedy, registered by name.

A remedy is a :class:`~ganbench.remedies.base.Remedy` subclass with a pydantic ``Params``
model. Adding one is one file in this package plus one import line below.
"""

from ganbench.remedies.base import REMEDIES, Remedy  # noqa: F401
