"""The codebase's shape, enforced: layers import downward only (import-linter's contract in
pyproject.toml), and every package of agent/ has its place in the layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def test_layers_import_downward_only():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_every_package_and_module_of_agent_is_in_a_layer():
    placed = set(_layers())
    top = {
        p.stem
        for p in (REPO / "agent").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
    }
    assert top - placed == set(), "add these to the layers in pyproject.toml [tool.importlinter]"


def test_ruff_lint_and_format_are_clean():
    """`ruff check` and `ruff format` (settings in pyproject.toml): run `ruff format` and
    `ruff check --fix` to mend what this reports."""
    ruff = Path(sys.executable).parent / "ruff"
    for args in (["check", "agent", "tests", "benchmarks"], ["format", "--check", "agent", "tests", "benchmarks"]):
        done = subprocess.run([str(ruff), *args], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
