"""The torch extra (``pip install 'papertide[torch]'``): its encoder makes the vectors ONNX Runtime makes, so a
CUDA backfill and a CPU web process share a model name; device selection on a machine with or without a GPU.

Marked ``torch``: `make test` (the README's command, no torch) leaves them out; `.ci/run` installs the extra (a CPU
build of torch) and runs them with ``pytest -m torch``, where a missing torch fails them. On CUDA they also run on
the GPU."""

from __future__ import annotations

import gc
from types import ModuleType

import numpy as np
import pytest

from papertide.search import embedder as embedder_module
from papertide.search.embedder import EmbedderError, TransformerEmbedder, resolve_device
from papertide.search.model_files import ModelFiles, bundled_minilm
from papertide.search.onnx_encoder import OnnxEncoder

pytestmark = pytest.mark.torch

TEXTS = [
    "Grasping occluded objects with a robot arm",
    "",
    "A long abstract. " + "We study sparse attention for long documents and measure its cost. " * 40,
    "Ünïcödé façade, naïve café: 東京 and $x^2$",
]


@pytest.fixture(scope="module")
def minilm() -> ModelFiles:
    return bundled_minilm()


@pytest.fixture(scope="module")
def torch() -> ModuleType:
    try:
        import torch
    except ImportError:
        pytest.fail("the torch extra is not installed: make install-torch (CPU: TORCH_SPEC=torch==2.13.0+cpu)")
    return torch


def _encode(files: ModelFiles, encoder: object, device: str) -> np.ndarray:
    embedder = TransformerEmbedder("all-MiniLM-L6-v2", "fp32", device, batch_size=3)
    embedder._loaded = (files, encoder)  # type: ignore[assignment]
    return embedder.encode(TEXTS)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_torch_makes_the_onnx_vectors(minilm: ModelFiles, torch: ModuleType, device: str) -> None:
    from papertide.search.torch_encoder import TorchEncoder

    if device == "cuda" and not torch.cuda.is_available():
        with pytest.raises(EmbedderError, match="no CUDA GPU"):
            resolve_device("cuda")
        return
    onnx_vectors = _encode(minilm, OnnxEncoder.of(minilm, quantize=False), "cpu")
    torch_vectors = _encode(minilm, TorchEncoder(minilm, device), device)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() > 0.9999
    # torch's long-lived objects are kept out of full collections (they paused searches for up to 250 ms).
    assert gc.get_freeze_count() > 10_000


def test_auto_takes_a_gpu_only_from_a_cuda_build(torch: ModuleType) -> None:
    cuda_build = not torch.__version__.endswith("+cpu")
    assert embedder_module._cuda_torch_installed() == cuda_build
    expected = "cuda" if cuda_build and torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device("auto", "int8") == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(EmbedderError, match="int8 precision runs on the CPU"):
        resolve_device("cuda", "int8")
