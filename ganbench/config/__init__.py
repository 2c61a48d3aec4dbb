"""Stage 1, configuration: the suite schema and loader, its expansion into trial specs,
the compatibility rules, sweeps and the diagnostics settings (docs/architecture.md)."""
