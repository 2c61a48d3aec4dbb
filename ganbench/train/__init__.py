"""Stage 2, training: one trial's loop over the components, its evaluators and the
measures taken at each evaluation (docs/architecture.md)."""
