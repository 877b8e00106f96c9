"""The code's one way through (docs/ARCHITECTURE.md): channel (bot/) -> dialogs -> storage. Nothing imports
upwards, and platform libraries stay in bot/: a record knows no conversation, a conversation no platform. Inside
each folder, too, imports run one way: no module imports, at any depth, one that imports it back."""

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


def _modules(root: Path, folder: str) -> dict[str, Path]:
    """The folder's modules by dotted name ("storage.notices"; a package by its own name)."""
    found = {}
    for path in sorted((root / folder).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported_modules(path: Path) -> set[str]:
    """What `_imports` finds, with each name taken from a package as a module of its own (`from storage import
    notices` imports storage.notices)."""
    found = {module for _, module in _imports(path)}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def circles(root: Path, folder: str) -> list[set[str]]:
    """Every circle among the folder's modules (each strongly connected group of two or more), found by Tarjan's
    algorithm over the imports at any depth."""
    modules = _modules(root, folder)
    graph = {name: sorted((_imported_modules(path) & modules.keys()) - {name}) for name, path in modules.items()}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(name: str) -> None:
        order[name] = low[name] = len(order)
        stack.append(name)
        for other in graph[name]:
            if other not in order:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], order[other])
        if low[name] == order[name]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == name:
                    break
            if len(group) > 1:
                found.append(group)

    for name in graph:
        if name not in order:
            visit(name)
    return found


@pytest.mark.parametrize("folder", ["bot", "dialogs", "storage"])
def test_no_import_circle_inside_a_folder(folder: str) -> None:
    found = [sorted(group) for group in circles(ROOT, folder)]
    assert found == [], f"modules of {folder}/ import each other in a circle: {found}"


def test_the_circle_check_sees_a_circle_through_an_import_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / "__init__.py").write_text("")
    (tmp_path / "layer" / "low.py").write_text("def f():\n    from layer import high\n    return high\n")
    (tmp_path / "layer" / "high.py").write_text("from layer.low import f\n")
    (tmp_path / "layer" / "apart.py").write_text("import layer.low\n")
    assert circles(tmp_path, "layer") == [{"layer.low", "layer.high"}]


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
