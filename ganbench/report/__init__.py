"""The report stage: a run folder and its results in, ``report.html`` and its exports out
(docs/architecture.md).

Use :func:`build_report` after the results stage (``ganbench report RUN_DIR`` runs both). The
stage reads only the run folder, so a report can be rebuilt at any time without retraining.
"""

from ganbench.report.build import build_report, load_run

__all__ = ["build_report", "load_run"]
