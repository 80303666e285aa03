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


# the project's own CJK font: Noto Sans CJK SC, shipped inside the `mplfonts` wheel (SIL OFL), so a
# bare machine draws Chinese names without system fonts; found by path, registered with matplotlib
BUNDLED_CJK = "NotoSansCJKsc-Regular.otf"


def _bundled_cjk_path() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("mplfonts")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "fonts" / BUNDLED_CJK
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of a font that draws Chinese: the bundled Noto Sans CJK SC, else a system one."""
    bundled = _bundled_cjk_path()
    if bundled is not None:
        try:
            font_manager.fontManager.addfont(str(bundled))
            return font_manager.FontProperties(fname=str(bundled)).get_name()
        except Exception:  # an unreadable file: fall back to what the system has
            pass
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def font_families() -> list[str]:
    """Latin first, then CJK: matplotlib (≥ 3.6) falls back glyph by glyph, so mixed names draw whole."""
    return ["DejaVu Sans"] + ([cjk_font()] if cjk_font() else [])


def use_chart_fonts() -> None:
    """Make every text of our charts (titles, ticks, legends) fall back to the CJK font."""
    import matplotlib

    matplotlib.rcParams["font.family"] = font_families()  # a list of real names: glyph-by-glyph fallback


def drawable(name: str, ident: int, *, longest: int = 40) -> str:
    """The name as it can be drawn: as is, or its Latin part and #id when Chinese cannot be drawn."""
    if CJK.search(name) and cjk_font() is None:
        latin = CJK.sub("", name).strip(" ·-()")
        return f"{latin} (#{ident})" if latin else f"#{ident}"
    return name if len(name) <= longest else name[:longest - 1] + "…"
