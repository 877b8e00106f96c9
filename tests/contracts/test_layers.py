"""The code's one way through (docs/ARCHITECTURE.md): channel (bot/) -> dialogs -> storage. Nothing imports
upwards, and platform libraries stay in bot/: a record knows no conversation, a conversation no platform."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "aiohttp")
FORBIDDEN = {
    "storage": ("dialogs", "bot", *PLATFORMS),
    "dialogs": ("bot", *PLATFORMS),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (imports inside functions count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_nothing_imports_upwards_and_no_platform_type_leaks_down(layer: str) -> None:
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in FORBIDDEN[layer]
    ]
    assert upward == [], "\n".join(upward)


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from dialogs.dates import format_datetime\n    return format_datetime\n")
    assert _imports(sneaky) == [(2, "dialogs.dates")]
