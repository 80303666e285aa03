"""One module per capability. Importing this package registers every `/crm` command.

Modules are discovered, so adding a capability is adding a file. ``later`` goes last: it
only fills in commands no module has claimed.
"""
import importlib
import pkgutil

_SKIP = {"later"}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in _SKIP and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
importlib.import_module(f"{__name__}.later")
