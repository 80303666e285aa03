"""The campaign report's picture: the funnel (sent → delivered → replied → deals) and replies over time.

matplotlib's object API on the Agg canvas (no pyplot state), so it draws safely from the
worker threads handlers run in. Files go under ``CRM_CHART_DIR`` (default ``charts/``).
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from crm.campaigns.results import CampaignReport
from crm.chart_fonts import CJK, chart_dir, cjk_font, drawable, font_families, save_png, use_chart_fonts

COLOURS = ("#4C72B0", "#55A868", "#C44E52", "#8172B2")


def _title(report: CampaignReport) -> str:
    name, ident = report.campaign.name, report.campaign.id
    if CJK.search(name) and cjk_font() is None:
        return drawable(name, ident)
    return f"{name} (#{ident})"


def render_campaign_chart(report: CampaignReport, path: Path | None = None, *, today: date | None = None) -> Path:
    """Writes the PNG (atomically: readers never see half a file) and returns its path. ``today``, the
    business's local date, names the file."""
    today = today or date.today()
    if path is None:
        # the same figures draw the same picture: a report asked again reuses today's file (drawing
        # costs ~0.6 s; the first one in a process another ~1 s of matplotlib loading)
        path = chart_dir() / f"campaign-{report.campaign.id}-{today:%Y%m%d}-{_fingerprint(report)}.png"
        if path.is_file():
            return path
    return save_png(campaign_figure(report), path)


def _fingerprint(report: CampaignReport) -> str:
    import hashlib

    c = report.campaign
    key = repr((c.name, c.budget, c.starts_at, c.ends_at, c.sent_at, c.created_at, report.attempted,
                report.delivered, report.replied, report.deals, sorted(report.replies_by_day)))
    return hashlib.sha1(key.encode()).hexdigest()[:8]


def campaign_figure(report: CampaignReport) -> Figure:
    """The drawn figure: the funnel, and replies over time; "No data yet" where there is nothing to show."""
    use_chart_fonts()
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    funnel_ax, time_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    families = font_families()

    stages = [("Sent", report.attempted), ("Delivered", report.delivered), ("Replied", report.replied),
              ("Deals ≤30d", report.deals)]
    labels = [s for s, _ in stages][::-1]
    values = [v for _, v in stages][::-1]
    bars = funnel_ax.barh(labels, values, color=COLOURS[::-1])
    top = max(values) or 1
    for bar, value in zip(bars, values):
        share = f"  {value:,}" + (f" ({value / report.attempted:.0%})" if report.attempted else "")
        funnel_ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, share, va="center", fontsize=9)
    funnel_ax.set_xlim(0, top * 1.35)
    funnel_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    funnel_ax.set_title("Funnel", fontsize=10)
    if not report.attempted:
        funnel_ax.text(0.5, 0.5, "No data yet: nothing sent", transform=funnel_ax.transAxes, ha="center",
                       va="center", fontsize=11, color="#777777")
    funnel_ax.spines[["top", "right"]].set_visible(False)

    start = (report.campaign.sent_at or report.campaign.starts_at or report.campaign.created_at).date()
    end = report.campaign.ends_at.date() if report.campaign.ends_at else start + timedelta(days=14)
    days = [start + timedelta(days=i) for i in range(max(1, min((end - start).days + 1, 60)))]
    per_day = dict(report.replies_by_day)
    running, total = [], 0
    for day in days:
        total += per_day.get(day, 0)
        running.append(total)
    time_ax.plot(days, running, color=COLOURS[2], marker="o" if len(days) <= 14 else None)
    time_ax.set_title("Customers who replied (cumulative)", fontsize=10)
    time_ax.set_ylim(0, max(running + [4]) * 1.15)  # whole customers; never a 0.00–0.05 axis
    time_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not total:
        time_ax.text(0.5, 0.5, "No data yet: no replies", transform=time_ax.transAxes, ha="center", va="center",
                     fontsize=11, color="#777777")
    time_ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    time_ax.spines[["top", "right"]].set_visible(False)

    budget = f" · budget {report.campaign.budget:,.0f}" if report.campaign.budget else ""
    cost = f" · {report.cost_per_reply:,.2f} per reply" if report.cost_per_reply is not None else ""
    fig.suptitle(f"{_title(report)}{budget}{cost}", fontsize=12, fontfamily=families)
    fig.tight_layout()
    return fig
