"""README.md's "A short tour of the code" names the tree as it is: every path it names exists, and
every module of the product's packages is named in it (issue 12: a newcomer can trust the map)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "crm", "integrations", "scheduler")
ROOTS = PACKAGES + ("tests", "bench")  # a name starting with one of these is a path from the root
ENTRY = re.compile(r"^( *)(\S+)")
NAME = re.compile(r"(?<![\w./<*-])((?:[\w-]+/)*[\w-]+(?:\.py|/))(?![\w<*])")


def tour() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## A short tour of the code")
    return text[start:text.index("\n#", start + 1)].splitlines()


def named_paths() -> set[str]:
    """Every file or folder the tour names, as a path from the repository root.

    The tree is drawn by indentation: a line whose first word is a name, indented at most one
    step deeper than the entry above, is an entry of the innermost folder it is inside; further
    names on the line are its neighbours (``cli.py … digest_cli.py``), or, after a folder, what
    the folder holds (``dates/  … numerals.py``); deeper lines go on describing the entry above.
    A name that starts with a top-level folder (``crm/inbox/outbox.py``) is a path from the root,
    and so is a backticked path in the prose around the tree.
    """
    paths: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, path) of the folders the current line is inside
    entry: tuple[int, str] | None = None  # the entry being described: (indent, path)
    for line in tour():
        if not line.strip():
            continue
        if not line.startswith("    "):  # prose
            paths |= set(re.findall(r"`([\w/.-]+(?:\.py|/))`", line))
            continue
        indent = len(line) - len(line.lstrip())
        first = line.split()[0].rstrip(",")
        names = NAME.findall(line)
        if NAME.fullmatch(first) and (entry is None or indent <= entry[0] + 2):
            while folders and folders[-1][0] >= indent:
                folders.pop()
            entry = (indent, (folders[-1][1] if folders else "") + first)
            paths.add(entry[1])
            if first.endswith("/"):
                folders.append(entry)
            names = names[1:]
        assert entry is not None, f"the tour's tree starts with a name: {line!r}"
        here = entry[1] if entry[1].endswith("/") else entry[1].rpartition("/")[0] + "/"
        paths |= {name if name.split("/")[0] in ROOTS else here.lstrip("/") + name for name in names}
    return paths


def test_every_path_the_tour_names_exists():
    missing = sorted(p for p in named_paths() if not (ROOT / p).exists())
    assert not missing, "README's tour names paths that do not exist: " + ", ".join(missing)


def test_every_module_of_the_product_is_on_the_tour():
    named = named_paths()
    modules = {str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("*.py")
               if p.name != "__init__.py" and "migrations" not in p.parts and "__pycache__" not in p.parts}
    assert not modules - named, ("add a line for each under its folder in README.md's \"A short tour of the "
                                 "code\": " + ", ".join(sorted(modules - named)))
