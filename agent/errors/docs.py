"""docs/errors.md from the catalogue: `python -m agent.errors.docs > docs/errors.md`.
tests/test_error_catalogue.py fails when the file is not what this writes now."""

from __future__ import annotations

import sys

from agent.errors.catalogue import AREAS, entries


def render() -> str:
    out = [
        "# Error and warning codes",
        "",
        "<!-- Generated from agent/errors/catalogue.py by `python -m agent.errors.docs > docs/errors.md`; "
        "do not edit by hand. -->",
        "",
        "Every problem the agent reports names a code: `E` for an error (the bot is not loaded, the command "
        "stops), `W` for a warning (it carries on). The hundreds say the area: "
        + ", ".join(f"{digit}xx {area}" for digit, area in AREAS.items())
        + ". "
        "In the messages below `{name}` stands for what the message fills in.",
        "",
    ]
    area = None
    for entry in sorted(entries(), key=lambda e: (e.code[1], e.code[0] == "W", e.code)):
        if entry.code[1] != area:
            area = entry.code[1]
            out += [f"## {area}xx: {AREAS[area]}", ""]
        out += [
            f"### {entry.code}",
            "",
            f"`{entry.name}` ({entry.severity})",
            "",
            f"Message: `` {_template(entry.message)} ``",
            "",
        ]
        if entry.hint:
            out += [f"Hint: `` {_template(entry.hint)} ``", ""]
        out += [entry.explanation, ""]
    return "\n".join(out)


def _template(text: str) -> str:
    """A template as a reader sees it: fields as {name}, literal braces single."""
    return (
        text.replace("{{", "\x00").replace("}}", "\x01").replace("\x00", "{").replace("\x01", "}").replace("!r}", "}")
    )


if __name__ == "__main__":
    sys.stdout.write(render())
