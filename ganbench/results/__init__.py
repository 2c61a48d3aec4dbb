"""The results stage: every number of a run computed from its run folder (see
``docs/architecture.md``); the report only renders what this stage wrote."""
