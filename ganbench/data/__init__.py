"""Datasets, registered by name (see :data:`ganbench.data.toy.DATASETS`)."""
