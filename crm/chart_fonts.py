"""What every chart shares: where images go, and which fonts can draw the names on them.

Matplotlib draws empty boxes for Chinese text unless a CJK font is installed, so names are
drawn in a CJK font when one exists and otherwise shown with their #id, which still names them.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")


def save_png(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` atomically (readers never see half a file), readable like any file
    the process writes (mkstemp's private 0600 would hide it from the web server or a colleague)."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".chart-", suffix=".png", dir=path.parent)
    os.close(handle)
    try:
        fig.savefig(tmp, format="png")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def chart_dir() -> Path:
    """CRM_CHART_DIR, created on first use."""
    path = Path(os.environ.get("CRM_CHART_DIR", "charts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def font_families() -> list[str]:
    return ["DejaVu Sans"] + ([cjk_font()] if cjk_font() else [])


def drawable(name: str, ident: int, *, longest: int = 40) -> str:
    """The name as it can be drawn: as is, or its Latin part and #id when Chinese cannot be drawn."""
    if CJK.search(name) and cjk_font() is None:
        latin = CJK.sub("", name).strip(" ·-()")
        return f"{latin} (#{ident})" if latin else f"#{ident}"
    return name if len(name) <= longest else name[:longest - 1] + "…"
