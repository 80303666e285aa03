"""Files with personal data do not stay on disk: privacy exports and chart pictures.

A privacy export (``/crm export``) is made for one delivery: once the adapter has uploaded it to
the admin who asked, ``delivered`` removes it. Whatever was not delivered (an upload that failed,
a reply read in the terminal) and every chart picture expire: ``sweep`` deletes files older than
CRM_EXPORT_RETENTION_DAYS / CRM_CHART_RETENTION_DAYS (default 1 day; 0 keeps them only until the
next sweep), run every ten minutes by the scheduler. Erasure deletes a customer's files at once
(crm/erasure.py).
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger("crm.files")

DEFAULT_DAYS = 1.0


def export_dir() -> Path:
    return Path(os.environ.get("CRM_EXPORT_DIR", "exports"))


def chart_dir() -> Path:
    return Path(os.environ.get("CRM_CHART_DIR", "charts"))


def _days(variable: str) -> float:
    try:
        return max(0.0, float(os.environ.get(variable, DEFAULT_DAYS)))
    except ValueError:
        log.warning("%s=%r is not a number of days; using %s", variable, os.environ.get(variable), DEFAULT_DAYS)
        return DEFAULT_DAYS


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def delivered(path: str | Path | None) -> bool:
    """The reply's file reached its reader: a privacy export is removed now; True when removed."""
    if not path:
        return False
    path = Path(path)
    if _inside(path, export_dir()):
        path.unlink(missing_ok=True)
        return True
    return False


def sweep(now: float | None = None) -> list[Path]:
    """Deletes exports and charts past their retention; returns what went."""
    now = time.time() if now is None else now
    removed = []
    for folder, variable in ((export_dir(), "CRM_EXPORT_RETENTION_DAYS"), (chart_dir(), "CRM_CHART_RETENTION_DAYS")):
        if not folder.is_dir():
            continue
        cutoff = now - _days(variable) * 86400
        for path in folder.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime <= cutoff:
                    path.unlink(missing_ok=True)
                    removed.append(path)
            except OSError:  # gone meanwhile, or not ours to delete: the next sweep looks again
                continue
    return removed
