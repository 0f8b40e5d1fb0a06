"""The `Embedder` interface: texts in, L2-normalized float32 rows out.

Adapters live in `alignment.adapters`; nothing outside them imports sentence-transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    model_name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one L2-normalized float32 row per text, in order."""
        ...


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide default embedder (loaded once; loading takes seconds)."""
    from alignment.adapters.sentence_transformer import SentenceTransformerEmbedder
    from alignment.settings import get_settings

    return SentenceTransformerEmbedder(batch_size=get_settings().embedding.batch_size)
