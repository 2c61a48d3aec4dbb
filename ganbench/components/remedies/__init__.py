"""Remedies for GAN failure modes: one module per remedy, registered by name.

A remedy is a :class:`~ganbench.components.remedies.base.Remedy` subclass with a pydantic ``Params``
model. Adding one is one file in this package plus one import line below.
"""

from ganbench.components.remedies.base import REMEDIES, Remedy  # noqa: F401

# one line per remedy module: importing it registers the remedy
from ganbench.components.remedies import (  # noqa: E402,F401
    gradient_penalty,
    instance_noise,
    label_smoothing,
    minibatch_discrimination,
    packing,
    spectral_norm,
    ttur,
    unrolled,
    weight_clipping,
)
