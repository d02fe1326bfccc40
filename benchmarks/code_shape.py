"""The shape of a source tree: modules, lines, the largest modules and functions (for before/after
comparisons of a refactor; format both trees with the same `ruff format` settings first).

    python benchmarks/code_shape.py agent/
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

LONG_FUNCTION = 50  # lines


def shape(root: Path) -> dict:
    modules = sorted(root.rglob("*.py"))
    sizes = sorted(((len(p.read_text().splitlines()), str(p.relative_to(root))) for p in modules), reverse=True)
    functions = sorted(
        (
            (node.end_lineno - node.lineno + 1, f"{p.relative_to(root)}:{node.name}")
            for p in modules
            for node in ast.walk(ast.parse(p.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ),
        reverse=True,
    )
    return {
        "modules": len(modules),
        "lines": sum(n for n, _ in sizes),
        "largest_modules": [f"{name} {n}" for n, name in sizes[:6]],
        "largest_functions": [f"{name} {n}" for n, name in functions[:6]],
        f"functions_over_{LONG_FUNCTION}_lines": sum(1 for n, _ in functions if n > LONG_FUNCTION),
    }


if __name__ == "__main__":
    print(json.dumps(shape(Path(sys.argv[1] if len(sys.argv) > 1 else "agent")), indent=1))
