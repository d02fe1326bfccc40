"""The public data beside the checkout (../shared): tests that read it skip, saying so, where it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def requires_shared(*parts: str) -> pytest.MarkDecorator:
    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=f"needs {path} (the shared benchmark data beside the checkout)")
