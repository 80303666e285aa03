"""`/crm graph`: a PNG of a customer's neighbourhood (matplotlib, Agg backend, no display needed)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from crm.chart_fonts import chart_dir, drawable, font_families  # noqa: E402
from crm.graph import RelationGraph, neighbourhood  # noqa: E402

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"]


def _label(name: str | None, ident: int) -> str:
    return drawable(name, ident, longest=22) if name else f"#{ident}"


def draw_neighbourhood(graph: RelationGraph, customer_id: int, *, customer_names: dict[int, str],
                       company_names: dict[int, str], staff: list[tuple[str, int, float]],
                       title: str, now: datetime, max_nodes: int = 30) -> Path:
    """Save the picture and return its path. ``staff``: (name, customer id they know, strength)."""
    centre = graph.customer_position(customer_id)
    nodes = neighbourhood(graph, centre, max_nodes=max_nodes)
    g = graph.to_networkx(nodes)
    for name, cid, strength in staff:
        pos = graph.customer_position(cid)
        if pos is not None and pos in g:
            g.add_node(("staff", name), kind="staff", id=0)
            g.add_edge(("staff", name), pos, strength=strength, kind="staff")
    layout = nx.spring_layout(g, weight="strength", seed=7, k=1.2 / max(1, np.sqrt(len(g))))
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    widths = [0.5 + 4 * d.get("strength", 0.3) for _, _, d in g.edges(data=True)]
    styles = ["dashed" if d.get("kind") in ("membership", "staff") else "solid" for _, _, d in g.edges(data=True)]
    nx.draw_networkx_edges(g, layout, ax=ax, width=widths, style=styles, edge_color="#999999", alpha=0.7)
    community = graph.community

    def colour(node) -> str:
        if isinstance(node, tuple):
            return "#2ca02c"
        if community is not None and node < len(community):
            return PALETTE[int(community[node]) % len(PALETTE)]
        return "#4e79a7"

    for shape, test in (("o", lambda d: d["kind"] == "customer"), ("s", lambda d: d["kind"] == "company"),
                        ("^", lambda d: d["kind"] == "staff")):
        chosen = [n for n, d in g.nodes(data=True) if test(d)]
        if not chosen:
            continue
        sizes = [900 if n == centre else 380 for n in chosen]
        nx.draw_networkx_nodes(g, layout, nodelist=chosen, node_shape=shape, ax=ax, node_size=sizes,
                               node_color=[colour(n) if shape != "s" else "#cccccc" for n in chosen],
                               edgecolors=["black" if n == centre else "white" for n in chosen], linewidths=1.5)
    labels = {}
    for n, d in g.nodes(data=True):
        if d["kind"] == "staff":
            labels[n] = _label(n[1], 0)
        elif d["kind"] == "company":
            labels[n] = _label(company_names.get(d["id"]), d["id"])
        else:
            labels[n] = _label(customer_names.get(d["id"]), d["id"])
    nx.draw_networkx_labels(g, layout, labels, font_size=8, font_family=font_families(), ax=ax)
    ax.set_title(title, fontsize=11)
    ax.text(0.01, 0.01, "● customer (colour = cluster)   ■ company   ▲ staff   line width = strength",
            transform=ax.transAxes, fontsize=7, color="#555555")
    ax.set_axis_off()
    path = chart_dir() / f"graph-{customer_id}-{now:%Y%m%d-%H%M%S}.png"
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path.resolve()
