"""One module per capability. Importing this package registers every `/crm` command.

Modules are discovered, so adding a capability is adding a file (or a package, as ``digest``).
Modules whose names start with ``_`` are helpers shared by several commands.
"""
import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
