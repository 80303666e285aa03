"""Dependencies point one way: integrations and scheduler → handlers → bot core → crm.

Every module's imports are read with ``ast`` — those inside functions too, so a cycle cannot be
hidden in a function-local import — and checked against the rules below. Only the composition
modules (bot/app.py, bot/cli.py and bot/digest_cli.py, the command line's digest sender) know every
adapter and the scheduler.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "crm", "handlers", "integrations", "scheduler")
COMPOSITION = {"bot.app", "bot.cli", "bot.digest_cli"}

# package (or module) → packages it must never import
FORBIDDEN = {
    "crm": {"bot", "handlers", "integrations", "scheduler"},
    "handlers": {"integrations", "scheduler"},
    "scheduler": {"integrations"},
    "integrations": {"scheduler"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import statement anywhere in the file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # `from pkg import module` imports pkg.module as well
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def our_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def violations() -> list[str]:
    problems: dict[str, str] = {}  # one per import statement: "file:line" → what it imports
    for path in our_modules():
        module = _module_name(path)
        top = module.split(".")[0]
        forbidden = set(FORBIDDEN.get(top, ()))
        if top == "bot" and module not in COMPOSITION:
            forbidden |= {"integrations", "scheduler"}  # the core knows no adapter; only composition does
        for line, name in imports_of(path):
            target = name.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line}"
            if target in forbidden:
                problems.setdefault(where, f"{where} imports {name}")
            elif name in COMPOSITION and module not in COMPOSITION:
                problems.setdefault(where, f"{where} imports the composition module {name}")
    return sorted(problems.values())


def test_the_walk_sees_function_local_and_relative_imports(tmp_path, monkeypatch):
    package = tmp_path / "crm"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "x.py").write_text("from . import y\n\ndef f():\n    from integrations import slack\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    names = {name for _, name in imports_of(package / "x.py")}
    assert {"crm", "crm.y", "integrations", "integrations.slack"} <= names


def test_every_package_exists_and_is_read():
    assert {_module_name(p).split(".")[0] for p in our_modules()} == set(PACKAGES)


def test_dependencies_point_one_way():
    problems = violations()
    assert not problems, "imports against the dependency rules:\n" + "\n".join(problems)
