"""Stage 3, running: Ray Tune scheduling, resume, collection into the run folder, and the
manifest (docs/architecture.md)."""
