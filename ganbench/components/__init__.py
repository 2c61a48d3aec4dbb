"""The building blocks, each family in a registry: datasets, networks, losses, remedies,
and the noise and kernel code they run on. The suite schema validates names against these
registries (docs/architecture.md)."""
