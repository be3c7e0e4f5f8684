"""The torch extra's encoder (``pip install 'papertide[torch]'``): the same BERT sentence encoder as
``search/onnx_encoder.py``, from the same weights, written in torch so that a CUDA GPU backfills vectors that the
CPU's ONNX Runtime then matches (one model name for both; tests/test_embedder_torch.py compares them).

Only ``search/embedder.py`` imports this module, and only for ``--device cuda`` (or ``auto`` with a CUDA build of
torch): the default install has no torch.
"""

from __future__ import annotations

import gc
import math
from typing import Any

import numpy as np

from papertide.search.model_files import ModelFiles

Tensor = Any  # torch.Tensor, where torch may not be installed for the type checker


class TorchEncoder:
    """Post-LN BERT with mean pooling on ``device``; :meth:`run` is safe from many threads (no state, no grad)."""

    def __init__(self, files: ModelFiles, device: str) -> None:
        import torch

        self._torch = torch
        self.device = device
        self._shape = files.shape
        self._w = {
            name: torch.from_numpy(np.array(array, dtype=np.float32)).to(device)
            for name, array in files.weights.items()
            if array.dtype == np.float32
        }
        # torch leaves a few hundred thousand long-lived objects; every full collection rescanned them, pausing
        # whichever search ran (up to 250 ms, bench/RESULTS.md). Frozen, collections skip them.
        gc.freeze()

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            token_ids = torch.from_numpy(ids).to(self.device)
            keep = torch.from_numpy(mask).to(self.device).to(torch.float32)
            x = self._embed(token_ids)
            bias = (1.0 - keep)[:, None, None, :] * torch.finfo(torch.float32).min
            for layer in range(self._shape.layers):
                x = self._layer(x, bias, f"encoder.layer.{layer}")
            summed = (x * keep[:, :, None]).sum(dim=1)
            pooled = summed / keep.sum(dim=1, keepdim=True).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
            return np.asarray(vectors.cpu().numpy(), dtype=np.float32)

    def _linear(self, x: Tensor, key: str) -> Tensor:
        return self._torch.nn.functional.linear(x, self._w[f"{key}.weight"], self._w[f"{key}.bias"])

    def _norm(self, x: Tensor, key: str) -> Tensor:
        w = self._w
        hidden = self._shape.hidden
        return self._torch.nn.functional.layer_norm(
            x, (hidden,), w[f"{key}.weight"], w[f"{key}.bias"], self._shape.epsilon
        )

    def _embed(self, token_ids: Tensor) -> Tensor:
        w = self._w
        length = token_ids.shape[1]
        summed = (
            w["embeddings.word_embeddings.weight"][token_ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        return self._norm(summed, "embeddings.LayerNorm")

    def _layer(self, x: Tensor, bias: Tensor, prefix: str) -> Tensor:
        functional = self._torch.nn.functional
        heads = self._shape.heads
        batch, length, hidden = x.shape
        size = hidden // heads

        def split(key: str) -> Tensor:
            projected = self._linear(x, f"{prefix}.attention.self.{key}")
            return projected.view(batch, length, heads, size).transpose(1, 2)

        query, key, value = split("query"), split("key"), split("value")
        scores = query @ key.transpose(-1, -2) / math.sqrt(size) + bias
        context = (scores.softmax(dim=-1) @ value).transpose(1, 2).reshape(batch, length, hidden)
        attended = self._norm(
            self._linear(context, f"{prefix}.attention.output.dense") + x,
            f"{prefix}.attention.output.LayerNorm",
        )
        inner = functional.gelu(self._linear(attended, f"{prefix}.intermediate.dense"))
        output = self._linear(inner, f"{prefix}.output.dense") + attended
        return self._norm(output, f"{prefix}.output.LayerNorm")
