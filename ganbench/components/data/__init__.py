"""Datasets, registered by name (see :data:`ganbench.components.data.toy.DATASETS`).

Importing this package registers every dataset family: the toy sets (``toy``) and the image
sets (``images``).
"""

from ganbench.components.data import toy  # noqa: F401
from ganbench.components.data import images  # noqa: F401,E402
