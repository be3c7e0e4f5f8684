"""The default encoder, without torch: a BERT sentence encoder as an ONNX graph that this module writes itself
from the model's weights (``search/model_files.py``), run by ONNX Runtime on the CPU.

Nothing is exported with torch and nothing is downloaded: the graph is made with ``onnx.helper`` (embeddings, the
encoder layers on ONNX Runtime's fused attention, GELU and layer-norm kernels, mean pooling, L2 normalisation), once
per process (about a second), into a temporary directory: the weights go straight from their arrays into a file
beside the graph that ONNX Runtime reads, so loading peaks at ~250 MB instead of ~630 with the graph held as bytes
(protobuf copies). In float32 it computes what sentence-transformers computes from the same
weights (cosine 1.0000 to torch, tests/test_embedder_torch.py), so vectors made here and by the torch extra's CUDA
backfill share a model name. ``quantize=True`` is the fast path for bulk CPU backfills: int8 matrix products
(weights per output channel, activations quantized on the fly), about twice as fast, slightly different vectors,
hence a model name of its own and a measured quality cost (docs/search.md, bench/RESULTS.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from papertide.search.model_files import WORD_EMBEDDINGS, BertShape, ModelFiles

_MS = "com.microsoft"
WEIGHTS_FILE = "encoder.weights"


class _Graph:
    """Collects nodes and initializers; names are made unique by a counter."""

    def __init__(self, weights: dict[str, np.ndarray], quantize: bool, initializers: Any, data: BinaryIO) -> None:
        self.weights = weights
        self.quantize = quantize
        self.nodes: list[Any] = []
        self.initializers = initializers
        self._data = data  # the weights file: written straight from the arrays, never copied into the protobuf
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def constant(self, stem: str, value: np.ndarray) -> str:
        from onnx import TensorProto, helper

        name = self.name(stem)
        tensor = self.initializers.add()
        tensor.name = name
        tensor.data_type = helper.np_dtype_to_tensor_dtype(value.dtype)
        tensor.dims.extend(value.shape)
        if value.nbytes < 4096:  # axes and the like: shape inference reads them, so they stay in the graph
            tensor.raw_data = np.ascontiguousarray(value).tobytes()
            return name
        offset = self._data.tell() + -self._data.tell() % 4096  # page-aligned, so the runtime may map it
        self._data.seek(offset)
        self._data.write(np.ascontiguousarray(value).tobytes())
        tensor.data_location = TensorProto.EXTERNAL
        for key, entry in (("location", WEIGHTS_FILE), ("offset", offset), ("length", value.nbytes)):
            field = tensor.external_data.add()
            field.key, field.value = key, str(entry)
        return name

    def weight(self, key: str) -> str:
        return self.constant(key, self.weights[key])

    def rows(self, key: str, ids: str, scaled_rows: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
        """The table's rows for ``ids``; from int8 rows and their scales when the model stores the table so."""
        if key not in scaled_rows:
            return self.node("Gather", [self.weight(key), ids])
        from onnx import TensorProto

        quantized, scales = scaled_rows[key]
        picked = self.node("Cast", [self.node("Gather", [self.constant(key, quantized), ids])], to=TensorProto.FLOAT)
        return self.node("Mul", [picked, self.node("Gather", [self.constant("scale", scales), ids])])

    def node(self, op: str, inputs: list[str], domain: str = "", outputs: int = 1, **attributes: Any) -> str:
        from onnx import helper

        names = [self.name(op) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, domain=domain or None, **attributes))
        return names[0]

    def linear(self, x: str, key: str, bias: bool = True) -> str:
        """x @ W.T (+ b) for the torch Linear named ``key``; int8 weights when quantizing. Without ``bias`` the
        caller adds it (SkipLayerNormalization takes it fused)."""
        matrix = self.weights[f"{key}.weight"].T.astype(np.float32)
        if not self.quantize:
            product = self.node("MatMul", [x, self.constant(key, matrix)])
            return self.node("Add", [product, self.weight(f"{key}.bias")]) if bias else product
        scale = np.maximum(np.abs(matrix).max(axis=0), 1e-8) / 127.0
        quantized = np.clip(np.round(matrix / scale), -127, 127).astype(np.int8)
        inputs = [x, self.constant(key, quantized), self.constant("scale", scale.astype(np.float32))]
        inputs.append(self.constant("zero", np.zeros(scale.shape, np.int8)))
        if bias:
            inputs.append(self.weight(f"{key}.bias"))
        return self.node("DynamicQuantizeMatMul", inputs, domain=_MS)


def build_graph(files: ModelFiles, directory: Path, quantize: bool = False) -> Path:
    """Write the ONNX model, (input_ids, attention_mask) int64 [batch, length] -> unit vectors [batch, hidden], into
    ``directory`` (the graph, and its weights in a file beside it); returns the graph's path."""
    with (directory / WEIGHTS_FILE).open("wb") as data:
        return _write_graph(files, directory, quantize, data)


def _write_graph(files: ModelFiles, directory: Path, quantize: bool, data: BinaryIO) -> Path:
    from onnx import TensorProto, helper

    model = helper.make_model(
        helper.make_graph([], "sentence_encoder", [], []),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)],
        producer_name="papertide",
    )
    weights, shape = files.weights, files.shape
    g = _Graph(weights, quantize, model.graph.initializer, data)
    ids, mask = "input_ids", "attention_mask"
    # Embeddings: words + positions 0..length-1 + token type 0 (single sentences), then LayerNorm.
    words = g.rows(WORD_EMBEDDINGS, ids, files.scaled_rows)
    length = g.node("Shape", [ids], start=1, end=2)  # 1-D: [length]
    zero = g.constant("start", np.array([0], np.int64))
    position_rows = g.node("Slice", [g.weight("embeddings.position_embeddings.weight"), zero, length, zero])
    type_row = g.constant("type", weights["embeddings.token_type_embeddings.weight"][0])
    summed = g.node("Add", [g.node("Add", [words, position_rows]), type_row])
    x = g.node(
        "LayerNormalization",
        [summed, g.weight("embeddings.LayerNorm.weight"), g.weight("embeddings.LayerNorm.bias")],
        axis=-1,
        epsilon=shape.epsilon,
    )
    key_mask = g.node("Cast", [mask], to=TensorProto.INT32)
    for layer in range(shape.layers):
        x = _encoder_layer(g, x, key_mask, f"encoder.layer.{layer}", shape)
    pooled = _mean_pool(g, x, mask)
    vectors = g.node("LpNormalization", [pooled], axis=-1, p=2)
    model.graph.node.extend(g.nodes)
    model.graph.input.extend(
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "length"]),
        ]
    )
    model.graph.output.append(helper.make_tensor_value_info(vectors, TensorProto.FLOAT, ["batch", shape.hidden]))
    path = directory / "encoder.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def _encoder_layer(g: _Graph, x: str, key_mask: str, prefix: str, shape: BertShape) -> str:
    attention = f"{prefix}.attention"
    query, key, value = (g.linear(x, f"{attention}.self.{part}") for part in ("query", "key", "value"))
    context = g.node("MultiHeadAttention", [query, key, value, "", key_mask], domain=_MS, num_heads=shape.heads)
    projected = g.linear(context, f"{attention}.output.dense", bias=False)
    x = _skip_layer_norm(g, projected, x, f"{attention}.output", shape)
    inner = g.linear(x, f"{prefix}.intermediate.dense", bias=False)
    activated = g.node("BiasGelu", [inner, g.weight(f"{prefix}.intermediate.dense.bias")], domain=_MS)
    output = g.linear(activated, f"{prefix}.output.dense", bias=False)
    return _skip_layer_norm(g, output, x, f"{prefix}.output", shape)


def _skip_layer_norm(g: _Graph, x: str, residual: str, prefix: str, shape: BertShape) -> str:
    """LayerNorm(x + dense bias + residual), one fused kernel."""
    inputs = [x, residual, g.weight(f"{prefix}.LayerNorm.weight"), g.weight(f"{prefix}.LayerNorm.bias")]
    inputs.append(g.weight(f"{prefix}.dense.bias"))
    return g.node("SkipLayerNormalization", inputs, domain=_MS, epsilon=shape.epsilon)


def _mean_pool(g: _Graph, x: str, mask: str) -> str:
    """The mean of the token vectors that the mask keeps (sentence-transformers' mean pooling)."""
    from onnx import TensorProto

    weights = g.node("Unsqueeze", [g.node("Cast", [mask], to=TensorProto.FLOAT), g.constant("axis", np.array([2]))])
    total = g.node("ReduceSum", [g.node("Mul", [x, weights]), g.constant("axis", np.array([1]))], keepdims=0)
    count = g.node("ReduceSum", [weights, g.constant("axis", np.array([1]))], keepdims=0)
    floor = g.constant("floor", np.array(1e-9, np.float32))
    return g.node("Div", [total, g.node("Max", [count, floor])])


class OnnxEncoder:
    """A built graph (:func:`build_graph`) in an ONNX Runtime session; :meth:`run` is safe from many threads."""

    def __init__(self, graph: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Without the arena a batch's activations go back to the allocator after the batch: a web process that
        # only embeds queries holds the weights and little else.
        options.enable_cpu_mem_arena = False
        # Worker threads that spin after a call hold a core that the keyword search running beside a query's
        # embedding needs: on 2 cores spinning cost a hybrid search with a fresh query ~10 ms at p50 (1M papers,
        # bench/RESULTS.md), for a few per cent of bulk embedding throughput.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    @classmethod
    def of(cls, files: ModelFiles, quantize: bool) -> OnnxEncoder:
        with tempfile.TemporaryDirectory(prefix="papertide-encoder-") as directory:
            return cls(build_graph(files, Path(directory), quantize))

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Unit vectors for token ids and attention mask, both int64 [batch, length]."""
        (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)
