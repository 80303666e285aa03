"""Move inline English/Chinese text pairs into the gettext catalogue (crm/locale/zh/LC_MESSAGES/crm.po).

Before the catalogue, replies were written as pairs: ``ctx.t("Saved {n}", "已保存 {n}", n=...)``,
``ctx.plural(n, "{n} day", "{n} days", "{n} 天")``, ``count(lang, n, one, other, zh)``. This script finds
every such call with ``ast``, adds the Chinese as the catalogue's translation of the English msgid, and
deletes the Chinese argument from the source, leaving ``ctx.t("Saved {n}", n=...)``. Nothing else in
the file changes, so it is safe to re-run after every ``git merge main`` (others may add new pairs):

    .venv/bin/python tools/i18n_codemod.py handlers bot scheduler integrations crm
    .venv/bin/python tools/i18n_codemod.py --check handlers ...    # report only, change nothing
    .venv/bin/python tools/i18n_codemod.py --prune                 # also drop entries no code uses

A msgid that already has a different Chinese translation (in the catalogue or elsewhere in this run)
is reported and left as a pair: decide by hand, either one wording or a context (``ctx.pt("where",
"English")``, gettext's msgctxt). Pairs whose arguments are not plain strings are reported too.
"""
from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from crm.i18n import DOMAIN, LOCALE_DIR, SOURCE_PACKAGES, source_messages  # noqa: E402

PO_PATH = LOCALE_DIR / "zh" / "LC_MESSAGES" / f"{DOMAIN}.po"

# call name -> (index of the first English argument, number of English arguments, arity with the Chinese)
PAIR_CALLS = {"t": (0, 1, None), "pt": (1, 1, None), "plural": (1, 2, 4), "count": (2, 2, 5)}


@dataclass
class Edit:
    start: int  # byte offsets in the file
    end: int


@dataclass
class Found:
    key: tuple  # (msgctxt or None, msgid or (singular, plural))
    zh: str
    where: str
    edit: Edit


@dataclass
class FileResult:
    path: Path
    found: list[Found] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _offset(line_starts: list[int], lineno: int, col: int) -> int:
    return line_starts[lineno - 1] + col  # ast columns are UTF-8 byte offsets, like ours


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def scan(path: Path) -> FileResult:
    source = path.read_bytes()
    result = FileResult(path)
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        result.problems.append(f"{path}: cannot parse ({exc})")
        return result
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    rel = path.relative_to(ROOT) if path.is_absolute() and ROOT in path.parents else path
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name == "command":
            _scan_command(node, rel, line_starts, result)
            continue
        if name not in PAIR_CALLS:
            continue
        first, n_en, arity = PAIR_CALLS[name]
        args = node.args
        if name in ("t", "pt"):
            zh_index = first + 1
            if len(args) <= zh_index or any(isinstance(a, ast.Starred) for a in args[:zh_index + 1]):
                continue
            if name == "pt" and not _is_str(args[0]):
                result.problems.append(f"{rel}:{node.lineno}: pt(...) context is not a plain string")
                continue
        else:
            if len(args) != arity:
                continue
            zh_index = arity - 1
        english, zh = args[first:first + n_en], args[zh_index]
        where = f"{rel}:{node.lineno}"
        if not all(_is_str(a) for a in english) or not _is_str(zh):
            if any(isinstance(a, ast.JoinedStr) for a in [*english, zh]) or name in ("t", "pt"):
                result.problems.append(f"{where}: {name}(...) pair is not two plain strings: "
                                       f"{ast.unparse(node)[:160]}")
            continue
        prev = args[zh_index - 1]
        edit = Edit(_offset(line_starts, prev.end_lineno, prev.end_col_offset),
                    _offset(line_starts, zh.end_lineno, zh.end_col_offset))
        context = args[0].value if name == "pt" else None
        key = (context, english[0].value if n_en == 1 else (english[0].value, english[1].value))
        zh_text = zh.value
        if n_en == 2 and not zh_text:
            # the Chinese branch never asked for this plural (it wrote the bare number): say so
            zh_text = "{n}"
        result.found.append(Found(key, zh_text, where, edit))
    return result


def _scan_command(node: ast.Call, rel, line_starts: list[int], result: FileResult) -> None:
    """``@command(..., summary="en", summary_zh="zh")``: the Chinese summary moves to the catalogue."""
    keywords = {k.arg: k for k in node.keywords if k.arg}
    summary, zh = keywords.get("summary"), keywords.get("summary_zh")
    if zh is None:
        return
    where = f"{rel}:{node.lineno}"
    if summary is None or not _is_str(summary.value) or not _is_str(zh.value):
        result.problems.append(f"{where}: command(...) summary/summary_zh are not plain strings")
        return
    parts = sorted([*node.args, *node.keywords], key=lambda n: (n.lineno, n.col_offset))
    before = parts[parts.index(zh) - 1]
    edit = Edit(_offset(line_starts, before.end_lineno, before.end_col_offset),
                _offset(line_starts, zh.end_lineno, zh.end_col_offset))
    result.found.append(Found((None, summary.value.value), zh.value.value, where, edit))


def load_catalogue() -> Catalog:
    if PO_PATH.exists():
        with PO_PATH.open("rb") as fh:
            return read_po(fh, locale="zh", domain=DOMAIN)
    return Catalog(locale="zh", domain=DOMAIN, project="crm-bot", copyright_holder="crm-bot contributors",
                   msgid_bugs_address="", fuzzy=False)


def save_catalogue(catalog: Catalog) -> None:
    PO_PATH.parent.mkdir(parents=True, exist_ok=True)
    catalog.fuzzy = False
    catalog.header_comment = ("# Chinese texts of crm-bot. The English msgids are in the code; tools/i18n_codemod.py\n"
                              "# adds entries from inline pairs. Edit msgstr here; keep {fields} as they are.")
    catalog.last_translator = "crm-bot contributors"
    catalog.language_team = "crm-bot contributors"
    catalog.msgid_bugs_address = ""
    with PO_PATH.open("wb") as fh:
        # no locations and no wrapping: merges between branches touch only the entries that changed
        write_po(fh, catalog, width=0, no_location=True, sort_output=True, omit_header=False)


def _existing(catalog: Catalog, key) -> str | None:
    context, msgid = key
    message = catalog.get(msgid if isinstance(msgid, str) else msgid[0], context=context)
    if message is None or not message.string:
        return None
    return message.string[0] if isinstance(message.string, (tuple, list)) else message.string


def run(paths: list[Path], check: bool, prune: bool) -> int:
    files = []
    for p in paths:
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    results = [scan(f) for f in files if ".venv" not in f.parts]
    catalog = load_catalogue()
    seen: dict = {}
    for r in results:
        for f in r.found:
            seen.setdefault(f.key, {}).setdefault(f.zh, []).append(f.where)
    problems = [p for r in results for p in r.problems]
    blocked = set()
    for key, by_zh in seen.items():
        before = _existing(catalog, key)
        if len(by_zh) > 1 or (before is not None and before not in by_zh):
            blocked.add(key)
            lines = [f"  {zh!r} at {', '.join(w)}" for zh, w in by_zh.items()]
            if before is not None and before not in by_zh:
                lines.append(f"  {before!r} in the catalogue")
            problems.append(f"msgid {key!r} has different Chinese texts; pick one or give each a context:\n"
                            + "\n".join(lines))
    changed = 0
    for r in results:
        edits = [f.edit for f in r.found if f.key not in blocked]
        if not edits:
            continue
        changed += len(edits)
        if check:
            continue
        source = r.path.read_bytes()
        for e in sorted(edits, key=lambda e: e.start, reverse=True):
            source = source[:e.start] + source[e.end:]
        r.path.write_bytes(source)
    added = 0
    for key, by_zh in seen.items():
        if key in blocked:
            continue
        zh = next(iter(by_zh))
        if _existing(catalog, key) == zh:
            continue
        added += 1
        context, msgid = key
        catalog.add(msgid, (zh,) if isinstance(msgid, tuple) else zh, context=context)
    if prune and not check:
        used = {(ctxt, m if isinstance(m, str) else m[0]) for ctxt, m in source_messages(ROOT)}
        for message in list(catalog):
            if message.id and (message.context, message.id if isinstance(message.id, str) else message.id[0]) \
                    not in used:
                catalog.delete(message.id, message.context)
    if not check and (added or prune):
        save_catalogue(catalog)
    for p in problems:
        print(p, file=sys.stderr)
    verb = "would convert" if check else "converted"
    print(f"{verb} {changed} calls in {sum(1 for r in results if r.found)} files; "
          f"{added} catalogue entries new or changed; {len(problems)} left for a person", file=sys.stderr)
    return 1 if problems or (check and changed) else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: every source folder)")
    parser.add_argument("--check", action="store_true", help="report, change nothing; exit 1 if pairs are left")
    parser.add_argument("--prune", action="store_true", help="drop catalogue entries no code uses any more")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.paths] or [ROOT / d for d in SOURCE_PACKAGES]
    return run(paths, args.check, args.prune)


if __name__ == "__main__":
    sys.exit(main())
