"""`/crm graph`: a PNG of a customer's neighbourhood (matplotlib's object API on Agg, no display).

Every node carries its name in any script (the project's CJK font, see ``chart_fonts``); colours
are groups of closely linked customers (the nightly job's clusters, or, when the picture is
drawn from a fresher graph than the job's, the same Louvain grouping computed on what is shown);
labels are moved apart with adjustText so 30 nodes stay readable; and every colleague drawn
shows all of their relationships into the picture, the same ones `/crm intro` walks.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from crm.chart_fonts import chart_dir, drawable, save_png, use_chart_fonts
from crm.insights.graph import RelationGraph, neighbourhood

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"]
COMPANY_COLOUR = "#bbbbbb"
STAFF_COLOUR = "#333333"
MIN_STAFF_STRENGTH = 0.01  # the weakest relationship `/crm intro` still walks


def _label(name: str | None, ident: int, kind: str = "customer") -> str:
    if name:
        return drawable(name, ident, longest=22)
    return f"#{ident}" if kind != "staff" else "?"


def _groups(g: nx.Graph, graph: RelationGraph, customers: list[int]) -> dict[int, int]:
    """Customer node → group number (0 = the biggest group in the picture)."""
    community = graph.community
    if community is not None and all(n < len(community) for n in customers):
        raw = {n: int(community[n]) for n in customers}
    else:
        sub = g.subgraph(customers)
        parts = nx.community.louvain_communities(sub, weight="strength", seed=7) if sub.number_of_edges() else []
        raw = {n: i for i, part in enumerate(parts) for n in part}
        raw.update({n: len(parts) + i for i, n in enumerate(n for n in customers if n not in raw)})
    sizes: dict[int, int] = {}
    for c in raw.values():
        sizes[c] = sizes.get(c, 0) + 1
    order = {c: i for i, c in enumerate(sorted(sizes, key=lambda c: (-sizes[c], c)))}
    return {n: order[c] for n, c in raw.items()}


def draw_neighbourhood(graph: RelationGraph, customer_id: int, *, customer_names: dict[int, str],
                       company_names: dict[int, str], staff: list[tuple[str, int, float]],
                       title: str, now: datetime, max_nodes: int = 30) -> Path:
    """Save the picture and return its path. ``staff``: (colleague name, customer id they know, strength),
    every relationship of each colleague to draw (several rows per colleague). ``now`` is local to the
    business: the file is named with its date."""
    fig, _ = neighbourhood_figure(graph, customer_id, customer_names=customer_names, company_names=company_names,
                                  staff=staff, title=title, max_nodes=max_nodes)
    path = chart_dir() / f"graph-{customer_id}-{now:%Y%m%d-%H%M%S}.png"
    return save_png(fig, path).resolve()


def neighbourhood_figure(graph: RelationGraph, customer_id: int, *, customer_names: dict[int, str],
                         company_names: dict[int, str], staff: list[tuple[str, int, float]], title: str,
                         max_nodes: int = 30):
    """(the figure, drawn; {node: its label Text}) — the labels for checks on what is shown."""
    from adjustText import adjust_text

    use_chart_fonts()
    centre = graph.customer_position(customer_id)
    nodes = neighbourhood(graph, centre, max_nodes=max_nodes)
    g = graph.to_networkx(nodes)
    for name, cid, strength in staff:
        pos = graph.customer_position(cid)
        if pos is not None and pos in g and strength >= MIN_STAFF_STRENGTH:
            g.add_node(("staff", name), kind="staff", id=0)
            g.add_edge(("staff", name), pos, strength=float(strength), kind="staff")

    layout = nx.kamada_kawai_layout(g) if len(g) > 2 else nx.spring_layout(g, seed=7)
    fig = Figure(figsize=(10, 8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()

    edges = list(g.edges(data=True))
    widths = [0.6 + 4 * min(1.0, d.get("strength", 0.3)) for _, _, d in edges]
    styles = ["dotted" if d.get("kind") == "membership" else "dashed" if d.get("kind") == "staff" else "solid"
              for _, _, d in edges]
    colours = ["#2f4b7c" if d.get("kind") == "staff" else "#999999" for _, _, d in edges]
    nx.draw_networkx_edges(g, layout, ax=ax, edgelist=[(a, b) for a, b, _ in edges], width=widths, style=styles,
                           edge_color=colours, alpha=0.7)

    customers = [n for n, d in g.nodes(data=True) if d["kind"] == "customer"]
    group = _groups(g, graph, customers)
    for shape, kind in (("o", "customer"), ("s", "company"), ("^", "staff")):
        chosen = [n for n, d in g.nodes(data=True) if d["kind"] == kind]
        if not chosen:
            continue
        fill = [PALETTE[group[n] % len(PALETTE)] if kind == "customer" else
                COMPANY_COLOUR if kind == "company" else STAFF_COLOUR for n in chosen]
        nx.draw_networkx_nodes(g, layout, nodelist=chosen, node_shape=shape, ax=ax,
                               node_size=[900 if n == centre else 330 for n in chosen], node_color=fill,
                               edgecolors=["black" if n == centre else "white" for n in chosen], linewidths=1.5)

    texts, by_node = [], {}
    for n, d in g.nodes(data=True):
        if d["kind"] == "staff":
            label = _label(n[1], 0, "staff")
        elif d["kind"] == "company":
            label = _label(company_names.get(d["id"]), d["id"], "company")
        else:
            label = _label(customer_names.get(d["id"]), d["id"])
        x, y = layout[n]
        texts.append(ax.text(x, y, label, fontsize=9 if n == centre else 7.5, ha="center", va="bottom",
                             fontweight="bold" if n == centre else "normal", zorder=5,
                             bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}))
        by_node[n] = texts[-1]
    points = np.array([layout[n] for n in g.nodes])
    ax.set_title(title, fontsize=12)
    ax.set_axis_off()
    ax.margins(0.12)

    n_groups = len(set(group.values()))
    handles = [Line2D([], [], marker="o", linestyle="", markersize=8, markerfacecolor=PALETTE[i % len(PALETTE)],
                      markeredgecolor="white",
                      label=("customer" if n_groups == 1 else f"customers, group {i + 1}")) for i in range(min(n_groups, 6))]
    handles += [Line2D([], [], marker="s", linestyle="", markersize=8, markerfacecolor=COMPANY_COLOUR,
                       markeredgecolor="white", label="company (dotted: works there)"),
                Line2D([], [], marker="^", linestyle="", markersize=8, markerfacecolor=STAFF_COLOUR,
                       markeredgecolor="white", label="colleague (dashed: knows them)"),
                Line2D([], [], color="#999999", linewidth=4, label="thicker line = stronger relationship")]
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=False,
              title="colour = group of closely linked customers" if n_groups > 1 else None, title_fontsize=7)
    fig.tight_layout()  # before the labels are settled: it moves the axes
    if len(texts) > 1:
        adjust_text(texts, x=points[:, 0], y=points[:, 1], ax=ax, expand=(1.15, 1.35),
                    arrowprops={"arrowstyle": "-", "color": "#bbbbbb", "lw": 0.5})
    fig.canvas.draw()
    return fig, by_node
