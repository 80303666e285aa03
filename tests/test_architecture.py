"""Dependencies point one way: integrations and scheduler → handlers → bot core → crm.

Every module's imports are read with ``ast`` — those inside functions too, so a cycle cannot be
hidden in a function-local import — and checked against the rules below. Only the composition
modules (bot/app.py, bot/cli.py and bot/digest_cli.py, the command line's digest sender) know every
adapter, every command handler and the scheduler.
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
            # the core knows no adapter and no command: only composition imports them (the commands
            # register themselves when bot/app.py imports handlers)
            forbidden |= {"integrations", "scheduler", "handlers"}
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


def test_only_composition_imports_the_command_handlers(tmp_path, monkeypatch):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "bot" / "engine.py").write_text("def __init__(self):\n    import handlers  # registers commands\n")
    (tmp_path / "bot" / "app.py").write_text("import handlers\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations() == ["bot/engine.py:2 imports handlers"]


# ---------------------------------------------------------------- every write a handler makes is a crm function

SESSION_WRITES = {"add", "add_all", "delete", "merge", "flush", "commit", "bulk_save_objects", "bulk_insert_mappings"}
SQL_WRITES = {"update", "delete", "insert"}


def _table_models() -> set[str]:
    from sqlmodel import SQLModel

    import crm.models

    return {name for name, value in vars(crm.models).items()
            if isinstance(value, type) and issubclass(value, SQLModel) and hasattr(value, "__table__")}


def _statement_root(node: ast.AST) -> ast.AST:
    """The call a chained statement starts from: update(X) in update(X).where(…).values(…)."""
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return node


def handler_writes(path: Path, tables: set[str]) -> list[str]:
    """Writes a handler makes itself: session.add/delete/flush/commit…, exec(update/delete/insert …),
    or a table model constructed (to be added)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    models = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and node.module == "crm.models" for alias in node.names if alias.name in tables}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, where = node.func, f"{path.relative_to(ROOT)}:{node.lineno}"
        if isinstance(func, ast.Attribute) and func.attr in SESSION_WRITES and "session" in ast.unparse(func.value):
            found.append(f"{where} calls {ast.unparse(func)}")
        elif isinstance(func, ast.Attribute) and func.attr in ("exec", "execute") and node.args:
            root = _statement_root(node.args[0])
            if isinstance(root, ast.Call) and isinstance(root.func, ast.Name) and root.func.id in SQL_WRITES:
                found.append(f"{where} runs {root.func.id}(…) itself")
        elif isinstance(func, ast.Name) and func.id in models:
            found.append(f"{where} constructs {func.id}")
    return found


def test_handlers_write_only_through_named_crm_functions():
    tables = _table_models()
    problems = [p for path in sorted((ROOT / "handlers").rglob("*.py")) for p in handler_writes(path, tables)]
    assert not problems, "handlers writing rows themselves (make it a keyword-only function in crm/):\n" + \
        "\n".join(problems)


def test_the_write_check_sees_adds_statements_and_models(tmp_path, monkeypatch):
    handler = tmp_path / "handlers" / "x.py"
    handler.parent.mkdir()
    handler.write_text("from sqlalchemy import update\nfrom crm.models import Task\n\n"
                       "def run(ctx):\n"
                       "    ctx.session.add(Task(title='t'))\n"
                       "    ctx.session.exec(update(Task).where(Task.id == 1).values(title='u'))\n"
                       "    ctx.session.exec(select(Task))\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert sorted(handler_writes(handler, _table_models())) == [
        "handlers/x.py:5 calls ctx.session.add", "handlers/x.py:5 constructs Task",
        "handlers/x.py:6 runs update(…) itself"]


# ---- one clock: the wall clock is read in one place (crm.types.utcnow; the engine's clock wraps it) ----

CLOCK_MODULE = ROOT / "crm" / "types.py"


def _clock_lines(path: Path) -> list[int]:
    """Lines of ``datetime.now(...)`` / ``datetime.utcnow()`` / ``datetime.datetime.now(...)`` calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("now", "utcnow"):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if name == "datetime":
                found.append(node.lineno)
    return found


def test_the_wall_clock_is_read_only_through_utcnow():
    reads = [f"{path.relative_to(ROOT)}:{line}" for path in our_modules()
             if path != CLOCK_MODULE and "migrations" not in path.parts for line in _clock_lines(path)]
    assert reads == [], "use crm.types.utcnow (or the engine's clock) instead of datetime.now: " + ", ".join(reads)


def test_the_clock_check_sees_direct_reads(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import datetime as dt\nfrom datetime import datetime\n"
                      "a = datetime.now()\nb = dt.datetime.now()\nc = datetime.utcnow()\n")
    assert _clock_lines(module) == [3, 4, 5]


# ---- the relay's message links (relayed_message) are written only by crm/ (crm/inbox/links.py) ----

def statements_on(path: Path, model: str) -> list[str]:
    """insert/update/delete statements on ``model``, or ``model`` objects built, in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        named = any(model in ast.unparse(arg) for arg in node.args)
        if (node.func.id in SQL_WRITES and named) or node.func.id == model:
            found.append((node.lineno, f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)[:60]}"))
    return [what for _, what in sorted(found)]


def test_relayed_messages_are_written_only_by_crm_functions():
    outside = [p for path in our_modules() if _module_name(path).split(".")[0] != "crm"
               for p in statements_on(path, "RelayedMessage")]
    assert outside == [], "relayed_message written outside crm/ (use crm.inbox.links):\n" + "\n".join(outside)


def test_the_relayed_message_check_sees_statements_and_objects(tmp_path, monkeypatch):
    module = tmp_path / "integrations" / "x.py"
    module.parent.mkdir()
    module.write_text("def f(s, rows):\n"
                      "    s.execute(insert(RelayedMessage.__table__), rows)\n"
                      "    s.exec(update(RelayedMessage).values(deleted=True))\n"
                      "    s.add(RelayedMessage(slack_ts='1'))\n"
                      "    s.exec(select(RelayedMessage))\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [line.split(" ")[0] for line in statements_on(module, "RelayedMessage")] == [
        "integrations/x.py:2", "integrations/x.py:3", "integrations/x.py:4"]
