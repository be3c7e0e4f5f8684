"""Text to vectors: the :class:`Embedder` interface and the default, all-MiniLM-L6-v2 on ONNX Runtime, bundled.

Every vector papertide stores or searches with comes from here, unit length and float32, so cosine similarity is a
dot product everywhere. The default model's weights come from an installed package (``search/model_files.py``)
and run on ONNX Runtime (``search/onnx_encoder.py``) with no torch and nothing downloaded. ``--device cuda`` runs
the same weights on torch (the ``torch`` extra, ``search/torch_encoder.py``) and makes the same vectors, so a GPU
backfill serves a CPU web process. ``PAPERTIDE_EMBEDDING_PRECISION=int8`` is the CPU fast path: its vectors differ
a little, so they are stored under a model name of their own and switching re-embeds (see :func:`vector_model`).
Another 384-d BERT sentence encoder with mean pooling is a directory path in ``PAPERTIDE_EMBEDDING_MODEL``; a
different library is another class with the same three members.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.metadata
import importlib.util
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from papertide.models import VECTOR_DIMENSIONS
from papertide.search.model_files import ModelFiles, ModelFilesError, bundled_minilm, directory_model

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Padded tokens per model call (8 abstracts of 256 tokens): ~100 MB of activations at most.
TOKENS_PER_CALL = 2048
Precision = Literal["fp32", "int8"]


class EmbedderError(Exception):
    """The model cannot be loaded or used; the message says what to install or set."""


class Embedder(Protocol):
    name: str
    dimensions: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given."""
        ...


class Encoder(Protocol):
    """A runtime's forward pass: token ids and attention mask, int64 [batch, length], to unit vectors."""

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


def paper_text(title: str, abstract: str | None) -> str:
    """What a paper is embedded from: its title, then its abstract (the model reads the first 256 tokens)."""
    return f"{title.strip()}. {abstract.strip()}" if abstract else title.strip()


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def vector_model(model: str, precision: Precision) -> str:
    """The name vectors are stored and searched under: what made them, so that a change re-embeds.

    The bundled model's int8-stored weights are not the torch checkpoint earlier versions embedded with, hence
    ``/w8`` (its vectors differ from those by cosine ~0.9995); int8 activations add ``a8``. The runtime is not
    part of the name: ONNX Runtime and torch compute the same vectors from the same weights."""
    if model == DEFAULT_MODEL:
        return f"{model}/w8a8" if precision == "int8" else f"{model}/w8"
    return f"{model}/a8" if precision == "int8" else model


class TransformerEmbedder:
    """A BERT sentence encoder on one runtime; loads on first use (once, under a lock), thread-safe after that."""

    def __init__(self, model: str, precision: Precision, device: str, batch_size: int) -> None:
        self.name = vector_model(model, precision)
        self.dimensions = VECTOR_DIMENSIONS
        self.device = device
        self.batch_size = batch_size
        self._model = model
        self._precision = precision
        self._loaded: tuple[ModelFiles, Encoder] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[ModelFiles, Encoder]:
        with self._lock:
            if self._loaded is None:
                files = _model_files(self._model)
                encoder: Encoder
                if self.device == "cpu":
                    from papertide.search.onnx_encoder import OnnxEncoder

                    encoder = OnnxEncoder.of(files, quantize=self._precision == "int8")
                else:
                    from papertide.search.torch_encoder import TorchEncoder

                    encoder = TorchEncoder(files, self.device)
                files.weights.clear()  # the runtime holds its own copy
                files.scaled_rows.clear()
                self._loaded = (files, encoder)
                _release_free_memory()
            return self._loaded

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return vectors
        files, encoder = self._load()
        encodings = files.tokenizer.encode_batch(list(texts))
        # Texts of similar length batch together, so little is spent on padding; the order is restored.
        lengths = [sum(encoding.attention_mask) for encoding in encodings]
        for rows in _batches(sorted(range(len(texts)), key=lengths.__getitem__), lengths, self.batch_size):
            length = lengths[rows[-1]]
            ids = np.array([encodings[row].ids[:length] for row in rows], dtype=np.int64)
            mask = np.array([encodings[row].attention_mask[:length] for row in rows], dtype=np.int64)
            vectors[rows] = encoder.run(ids, mask)
        return vectors


def _batches(order: list[int], lengths: list[int], most: int) -> Iterator[list[int]]:
    """Rows in ``order`` (shortest text first), at most ``most`` per model call and at most TOKENS_PER_CALL padded
    tokens: a call's memory (attention grows with rows x length²) stays bounded whatever the batch size setting."""
    batch: list[int] = []
    for row in order:
        if batch and (len(batch) == most or (len(batch) + 1) * lengths[row] > TOKENS_PER_CALL):
            yield batch
            batch = []
        batch.append(row)
    if batch:
        yield batch


def _release_free_memory() -> None:
    """Hand the heap the model's loading freed back to the OS (glibc keeps it otherwise: ~50 MB per process)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim this way
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _model_files(model: str) -> ModelFiles:
    try:
        if model == DEFAULT_MODEL:
            files = bundled_minilm()
        else:
            path = Path(model).expanduser()
            if not path.is_dir():
                raise EmbedderError(
                    f"PAPERTIDE_EMBEDDING_MODEL={model!r} is neither {DEFAULT_MODEL} nor a model directory"
                )
            files = directory_model(path)
    except ModelFilesError as error:
        raise EmbedderError(str(error)) from error
    if files.shape.hidden != VECTOR_DIMENSIONS:
        raise EmbedderError(
            f"{model} makes {files.shape.hidden}-d vectors; papertide stores {VECTOR_DIMENSIONS}-d ones. "
            "Choose a 384-d model (PAPERTIDE_EMBEDDING_MODEL)."
        )
    return files


def resolve_device(requested: str, precision: Precision = "fp32") -> str:
    """cpu runs ONNX Runtime; cuda needs the torch extra with a CUDA build; auto takes a GPU only from a CUDA torch
    (never importing a CPU build of torch, which would cost a process ~300 MB for nothing)."""
    if requested == "cpu" or (requested == "auto" and (precision == "int8" or not _cuda_torch_installed())):
        return "cpu"
    if precision == "int8":
        raise EmbedderError("int8 precision runs on the CPU (ONNX Runtime); --device cuda embeds in fp32")
    try:
        import torch
    except ImportError as error:
        raise EmbedderError(
            "--device cuda needs torch: pip install 'papertide[torch]' (a CUDA build, see docs/install.md)"
        ) from error
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise EmbedderError("--device cuda was asked for, but torch sees no CUDA GPU; install a CUDA build of torch")
    return "cpu"


def _cuda_torch_installed() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    return not importlib.metadata.version("torch").endswith("+cpu")  # PyTorch's CPU wheels say so in their version


@lru_cache(maxsize=4)
def load_embedder(
    name: str = DEFAULT_MODEL, device: str = "auto", batch_size: int = 32, precision: Precision = "fp32"
) -> Embedder:
    """One embedder per (model, device, precision) and process, shared by its threads: loading takes ~1-3 s."""
    return TransformerEmbedder(name, precision, resolve_device(device, precision), batch_size)
