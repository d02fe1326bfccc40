"""The model artifact: one .tar.gz holding everything needed to serve, without the bot's sources."""

from __future__ import annotations

import atexit
import json
import platform
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from agent.errors import Errors

FORMAT_VERSION = 3  # 2: each policy in its own folder of core/; 3: parts.json lists the model's parts
PARTS_FILE = "parts.json"  # the parts of a model (nlu, faq, core), each in the folder of its name
SUFFIX = ".tar.gz"


@dataclass
class Artifact:
    folder: Path  # unpacked contents
    manifest: dict
    source: Path

    def read_json(self, name: str):
        return json.loads((self.folder / name).read_text(encoding="utf-8"))


def library_versions() -> dict[str, str]:
    import torch
    import transformers

    import agent

    return {
        "agent": agent.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


def pack(staging: Path, out_dir: Path, name: str) -> Path:
    """Write staging/ as <out_dir>/<name>.tar.gz atomically (a half-written model is never picked up)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}{SUFFIX}"
    partial = out_dir / f".{name}{SUFFIX}.partial"
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        for path in sorted(staging.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(staging)), recursive=False)
    partial.replace(target)
    return target


def model_name(bot_name: str) -> str:
    return f"{bot_name}-{time.strftime('%Y%m%d-%H%M%S')}"


def latest_model(models_dir: str | Path = "models") -> Path:
    folder = Path(models_dir)
    candidates = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not candidates:
        raise Errors.NO_TRAINED_MODEL.error(folder=folder)
    return candidates[-1]


def open_artifact(path: str | Path) -> Artifact:
    source = Path(path)
    if not source.exists():
        raise Errors.MODEL_NOT_FOUND.error(path=path)
    if source.is_dir():
        folder = source
    else:
        folder = Path(tempfile.mkdtemp(prefix="agent-model-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        try:
            with tarfile.open(source, "r:gz") as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(folder, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    for member in tar.getmembers():
                        if member.name.startswith(("/", "..")) or ".." in Path(member.name).parts:
                            raise Errors.MODEL_UNSAFE_PATH.error(path=path, member=member.name)
                    tar.extractall(folder)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise Errors.MODEL_UNREADABLE.error(path=path, reason=exc) from None
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise Errors.MODEL_WITHOUT_MANIFEST.error(path=path)
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise Errors.MODEL_FORMAT_VERSION.error(
            path=path, version=manifest.get("format_version"), expected=FORMAT_VERSION
        )
    return Artifact(folder, manifest, source)


def read_members(path: str | Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """A few small files of a model without unpacking it all (the CLI needs the manifest and FAQ)."""
    source = Path(path)
    if not source.exists():
        raise Errors.MODEL_NOT_FOUND.error(path=path)
    if source.is_dir():
        return {n: (source / n).read_bytes() for n in names if (source / n).is_file()}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                if member.name in names and member.isfile():
                    found[member.name] = tar.extractfile(member).read()
                    if len(found) == len(names):
                        break
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise Errors.MODEL_UNREADABLE.error(path=path, reason=exc) from None
    return found
