"""Analysis of run results: diagnostics, dynamics and statistics across seeds."""
