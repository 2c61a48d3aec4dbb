"""Registered metrics: the names that appear as columns in trials.csv and summary.csv, from
the metric catalog (:mod:`ganbench.config.catalog`)."""

from __future__ import annotations

from ganbench.registry import Registry
from ganbench.config.catalog import CATALOG

METRICS: Registry[str] = Registry("metric")
for _m in CATALOG:
    if _m.summarised:
        METRICS.add(_m.name, _m.name, _m.definition)
