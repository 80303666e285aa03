"""The digest's picture: activity per person over 14 days, and the open pipeline by stage.

Drawn with matplotlib's object API on the Agg canvas (no pyplot global state), so charts can
be rendered from worker threads while the event loop keeps serving.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from crm.chart_fonts import chart_dir, drawable, font_families, save_png, use_chart_fonts
from crm.i18n import count, day_month, gettext
from crm.labels import stage_label
from crm.models import OPEN_DEAL_STAGES
from handlers.digest.data import DigestData

MAX_PEOPLE = 10  # more lines than this is noise; the rest are summed as "others"


def render_digest_chart(data: DigestData, path: Path | None = None, *, lang: str = "en") -> Path:
    """Write the PNG and return its path (atomically replaced, so readers never see half a file);
    its words in the recipient's language ``lang``."""
    # named after the day it is sent (the recipient's today), not the last day it covers
    path = path or chart_dir() / f"digest-{data.kind}-{data.recipient.id}-{data.day + timedelta(days=1):%Y%m%d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    use_chart_fonts()
    families = font_families()

    fig = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    activity_ax, pipeline_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})

    # a manager who logs nothing themselves would only add a flat line
    people = [p for p in data.people if p.role == "rep" or sum(data.daily_activity.get(p.id, []))]
    people.sort(key=lambda p: -sum(data.daily_activity.get(p.id, [])))
    shown, rest = people[:MAX_PEOPLE], people[MAX_PEOPLE:]
    x = range(len(data.chart_days))
    for person in shown:
        activity_ax.plot(x, data.daily_activity.get(person.id, [0] * len(data.chart_days)), marker="o",
                         markersize=3, linewidth=1.5, label=drawable(person.name, person.id))
    if rest:
        others = [sum(data.daily_activity.get(p.id, [0] * len(data.chart_days))[i] for p in rest) for i in x]
        activity_ax.plot(x, others, linestyle="--", color="grey", label=count(lang, len(rest), "{n} other", "{n} others"))
    activity_ax.set_xticks(list(x), [day_month(d, lang) for d in data.chart_days], rotation=60, fontsize=7,
                           family=families)
    activity_ax.set_title(gettext(lang, "Interactions per day (last 14 days)"), fontsize=10, family=families)
    activity_ax.set_ylabel(gettext(lang, "interactions"), family=families)
    activity_ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole interactions, no 0.5 steps
    activity_ax.grid(alpha=0.3)
    if shown:
        legend = activity_ax.legend(fontsize=7, loc="upper left", ncols=2)
        for text in legend.get_texts():
            text.set_family(families)

    stages = list(OPEN_DEAL_STAGES)
    converted = [data.pipeline_in_currency(s) for s in stages]
    if all(v is not None for v in converted):
        amounts, unit = [v / 1000 for v in converted], gettext(lang, "k {currency}", currency=data.currency)
    else:  # a currency without a rate: the bars show the business currency's deals only, and say so
        amounts = [data.pipeline.get(s, (0, {}))[1].get(data.currency, 0.0) / 1000 for s in stages]
        unit = gettext(lang, "k {currency}; other currencies in the text", currency=data.currency)
    bars = pipeline_ax.barh(range(len(stages)), amounts, color="#4C72B0")
    pipeline_ax.set_yticks(range(len(stages)), [stage_label(s, lang) for s in stages], family=families)
    for bar, stage in zip(bars, stages):
        deals = data.pipeline.get(stage, (0, {}))[0]
        pipeline_ax.annotate(count(lang, deals, "{n} open deal", "{n} open deals"),
                             (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                             textcoords="offset points", va="center", fontsize=7, family=families)
    pipeline_ax.invert_yaxis()
    pipeline_ax.set_title(gettext(lang, "Open pipeline by stage ({unit})", unit=unit), fontsize=10, family=families)
    pipeline_ax.set_xlim(0, max(amounts + [1]) * 1.3)
    fig.tight_layout()

    return save_png(fig, path)
