"""The embedder without torch: the ONNX graph built from the bundled weights computes BERT as written out in numpy
here, batching never changes a vector, int8 is a different model name, and bad model directories say what is wrong."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from papertide.search.embedder import EmbedderError, TransformerEmbedder, load_embedder, vector_model
from papertide.search.model_files import BertShape, ModelFiles, bundled_minilm
from papertide.search.onnx_encoder import OnnxEncoder

TEXTS = [
    "Grasping occluded objects with a robot arm",
    "",
    "Ünïcödé façade, naïve café: 東京 and $x^2 + y^2$ \u200b with a zero-width space",
    "A long abstract. " + "We study sparse attention for long documents and measure its cost. " * 40,
]


def reference_vectors(files: ModelFiles, texts: list[str]) -> np.ndarray:
    """BERT with mean pooling, one text at a time, in float64 numpy: what the graph must compute."""
    w = {name: array.astype(np.float64) for name, array in files.weights.items() if array.dtype == np.float32}
    shape = files.shape

    def norm(x: np.ndarray, key: str) -> np.ndarray:
        centred = x - x.mean(-1, keepdims=True)
        scaled = centred / np.sqrt((centred**2).mean(-1, keepdims=True) + shape.epsilon)
        return scaled * w[f"{key}.weight"] + w[f"{key}.bias"]

    def linear(x: np.ndarray, key: str) -> np.ndarray:
        return x @ w[f"{key}.weight"].T + w[f"{key}.bias"]

    rows = []
    for text in texts:
        encoding = files.tokenizer.encode(text)
        ids = encoding.ids[: sum(encoding.attention_mask)]
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: len(ids)]
        x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        size = shape.hidden // shape.heads
        for layer in range(shape.layers):
            p = f"encoder.layer.{layer}"
            q, k, v = (
                linear(x, f"{p}.attention.self.{n}").reshape(len(ids), shape.heads, size)
                for n in ("query", "key", "value")
            )
            scores = np.einsum("ihd,jhd->hij", q, k) / math.sqrt(size)
            weights = np.exp(scores - scores.max(-1, keepdims=True))
            weights /= weights.sum(-1, keepdims=True)
            context = np.einsum("hij,jhd->ihd", weights, v).reshape(len(ids), shape.hidden)
            x = norm(linear(context, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
            inner = linear(x, f"{p}.intermediate.dense")
            inner = 0.5 * inner * (1 + np.vectorize(math.erf)(inner / math.sqrt(2)))
            x = norm(linear(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        pooled = x.mean(0)
        rows.append(pooled / np.linalg.norm(pooled))
    return np.array(rows)


@pytest.fixture(scope="module")
def minilm() -> ModelFiles:
    return bundled_minilm()


def test_the_graph_computes_bert_mean_pooled(minilm: ModelFiles) -> None:
    encoder = OnnxEncoder.of(minilm, quantize=False)
    embedder = TransformerEmbedder("all-MiniLM-L6-v2", "fp32", "cpu", batch_size=2)
    embedder._loaded = (minilm, encoder)
    vectors = embedder.encode(TEXTS)
    expected = reference_vectors(minilm, TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * expected).sum(axis=1).min() > 0.99999
    # Batched with texts of other lengths (padding, reordering) or alone: the same vector.
    alone = np.vstack([embedder.encode([text]) for text in TEXTS])
    assert np.abs(alone - vectors).max() < 1e-5
    assert embedder.encode([]).shape == (0, 384)


def test_the_word_table_stays_int8_and_gives_the_same_vectors(minilm: ModelFiles, tmp_path: Path) -> None:
    """The bundled word embeddings are gathered as int8 rows and scaled in the graph: the weights file is ~35 MB
    smaller than with the float32 table, and the vectors are those of the float32 table."""
    from papertide.search.onnx_encoder import WEIGHTS_FILE, build_graph

    as_float = ModelFiles(minilm.weights, minilm.shape, minilm.tokenizer)  # no scaled rows: the float32 table
    (tmp_path / "int8").mkdir()
    (tmp_path / "float").mkdir()
    scaled = OnnxEncoder(build_graph(minilm, tmp_path / "int8"))
    unscaled = OnnxEncoder(build_graph(as_float, tmp_path / "float"))
    saved = (tmp_path / "float" / WEIGHTS_FILE).stat().st_size - (tmp_path / "int8" / WEIGHTS_FILE).stat().st_size
    assert saved > 30_000_000
    encodings = minilm.tokenizer.encode_batch(TEXTS[:1] + TEXTS[2:])
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    assert np.abs(scaled.run(ids, mask) - unscaled.run(ids, mask)).max() < 1e-6


def test_the_int8_fast_path_is_close_and_named_apart(minilm: ModelFiles) -> None:
    fast = OnnxEncoder.of(minilm, quantize=True)
    exact = OnnxEncoder.of(minilm, quantize=False)
    encodings = minilm.tokenizer.encode_batch(TEXTS[:1] + TEXTS[2:])
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    similarity = (fast.run(ids, mask) * exact.run(ids, mask)).sum(axis=1)
    assert similarity.min() > 0.95 and similarity.max() < 0.99999  # close, and really quantized
    assert vector_model("all-MiniLM-L6-v2", "int8") != vector_model("all-MiniLM-L6-v2", "fp32")
    assert load_embedder(precision="int8").name == "all-MiniLM-L6-v2/w8a8"


def tiny_bert(directory: Path, hidden: int = 384, **config: object) -> Path:
    """A random one-layer BERT directory, as a sentence-transformers download lays it out."""
    rng = np.random.default_rng(7)
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "robot", "arm", "grasp", "##ing", "the"]
    directory.mkdir()
    (directory / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    settings = {"model_type": "bert", "hidden_act": "gelu", "hidden_size": hidden, "num_attention_heads": 4}
    (directory / "config.json").write_text(json.dumps({**settings, "num_hidden_layers": 1, **config}))

    def matrix(*dims: int) -> np.ndarray:
        return (rng.standard_normal(dims) * 0.05).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": matrix(len(vocabulary), hidden),
        "embeddings.position_embeddings.weight": matrix(512, hidden),
        "embeddings.token_type_embeddings.weight": matrix(2, hidden),
    }
    norms = ["embeddings.LayerNorm", "encoder.layer.0.attention.output.LayerNorm", "encoder.layer.0.output.LayerNorm"]
    for key in norms:
        weights[f"{key}.weight"], weights[f"{key}.bias"] = 1 + matrix(hidden), matrix(hidden)
    layers = {"attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden)}
    layers |= {"attention.self.value": (hidden, hidden), "attention.output.dense": (hidden, hidden)}
    layers |= {"intermediate.dense": (4 * hidden, hidden), "output.dense": (hidden, 4 * hidden)}
    for key, dims in layers.items():
        weights[f"bert.encoder.layer.0.{key}.weight"] = matrix(*dims)  # a "bert." prefix, as BertModel saves it
        weights[f"bert.encoder.layer.0.{key}.bias"] = matrix(dims[0])
    save_file(weights, directory / "model.safetensors")
    return directory


def test_a_model_directory_runs_on_the_same_graph(tmp_path: Path) -> None:
    from papertide.search.model_files import directory_model

    path = tiny_bert(tmp_path / "tiny")
    embedder = load_embedder(str(path), device="cpu")
    assert embedder.name == str(path)
    texts = ["the robot arm grasping", "robot"]
    expected = reference_vectors(directory_model(path), texts)
    assert (embedder.encode(texts) * expected).sum(axis=1).min() > 0.99999


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("missing", "neither all-MiniLM-L6-v2 nor a model directory"),
        ("no-weights", "has no model.safetensors"),
        ("not-bert", "only BERT encoders"),
        ("cls-pooling", "only mean pooling"),
        ("no-vocabulary", "neither tokenizer.json nor vocab.txt"),
        ("64-d", "makes 64-d vectors"),
    ],
)
def test_a_bad_model_directory_says_what_is_wrong(tmp_path: Path, breakage: str, message: str) -> None:
    path = tmp_path / "model"
    if breakage == "64-d":
        tiny_bert(path, hidden=64)
    elif breakage == "not-bert":
        tiny_bert(path, model_type="roberta")
    elif breakage != "missing":
        tiny_bert(path)
    if breakage == "no-weights":
        (path / "model.safetensors").unlink()
    if breakage == "cls-pooling":
        (path / "1_Pooling").mkdir()
        (path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    if breakage == "no-vocabulary":
        (path / "vocab.txt").unlink()
    embedder = TransformerEmbedder(str(path), "fp32", "cpu", batch_size=8)
    with pytest.raises(EmbedderError, match=message):
        embedder.encode(["a text"])


def test_bert_shape_refuses_other_activations() -> None:
    with pytest.raises(ValueError, match="GELU"):
        BertShape.of({"model_type": "bert", "hidden_act": "relu"})
