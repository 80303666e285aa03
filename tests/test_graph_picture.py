"""`/crm graph` and the campaign chart (issue 15): names in any script with the project's own CJK
font and no glyph warnings, colours that match the legend, no overlapping labels at 30 nodes,
the edges `/crm intro` reports, "no data yet" on empty charts, readable files named by today."""
from __future__ import annotations

import os
import stat
import warnings

import pytest
from sqlmodel import select

from crm.chart_fonts import cjk_font
from crm.models import Staff
from tests.helpers import say
from tests.insights_support import customer, relate, talk

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def web(db, team):
    """王伟 at the centre of 30 related customers (Chinese and English names), a Chinese colleague."""
    with db.session() as s:
        zhang = Staff(name="张敏", role="rep", email="zm@crm.example", slack_user_id="UZHANG", manager_id=team.manager)
        s.add(zhang)
        s.flush()
        names = [f"客户{i}号" if i % 2 else f"Customer Number {i}" for i in range(34)]
        ids = [customer(s, name, company=("华为技术" if i % 3 == 0 else f"Company {i % 5}"), owner=team.bob)
               for i, name in enumerate(names)]
        for i, cid in enumerate(ids):
            relate(s, team.wang, cid, strength=0.3 + (i % 7) / 10)
            if i:
                relate(s, ids[i - 1], cid, strength=0.5)
        talk(s, zhang.id, team.wang, 2, times=4)
        talk(s, team.alice, team.wang, 3, times=6)
        talk(s, team.alice, ids[3], 5, times=2)
        return {"zhang": zhang.id, "ids": ids}


def test_graph_labels_every_node_by_name_without_warnings(engine, db, team, web, settings, tmp_path):
    assert cjk_font() is not None  # brought by the project's own install (mplfonts' Noto Sans CJK SC)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning: it would fail here
        reply = say(engine, "UALICE", f"/crm graph #{team.wang}")
    assert not reply.error, reply.text
    path = reply.image_path
    assert os.path.basename(path).startswith(f"graph-{team.wang}-20261123-")  # clock: 23 Nov, business zone UTC
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o044 == 0o044  # readable, not mkstemp's 0600


def _figure(db, team, web, actor_id):
    from crm.insights.graph import build_graph
    from crm.insights.graph_image import neighbourhood_figure
    from crm.insights.snapshot import load_snapshot
    from handlers import graph as graph_handler  # noqa: F401
    from tests.insights_support import NOW

    with db.engine.connect() as conn:
        g = build_graph(load_snapshot(conn, NOW))
    with db.session() as s:
        from crm.models import Company, Customer

        customers = {c.id: c.name for c in s.exec(select(Customer)).all()}
        companies = {c.id: c.name for c in s.exec(select(Company)).all()}
        staff_names = {p.id: p.name for p in s.exec(select(Staff)).all()}
    se = g.staff_edges
    staff = [(staff_names[int(g.staff_ids[a])], int(g.customer_ids[c]), float(w))
             for a, c, w in zip(se.staff, se.customer, se.strength)]
    return g, neighbourhood_figure(g, team.wang, customer_names=customers, company_names=companies, staff=staff,
                                   title="王伟 (#3)")


def test_thirty_nodes_have_their_names_and_no_label_overlaps(db, team, web):
    g, (fig, labels) = _figure(db, team, web, team.alice)
    texts = {t.get_text() for t in labels.values()}
    assert "王伟" in texts and "张敏" in texts and "Alice Rep" in texts and "华为技术" in texts
    assert not any(t.startswith("#") for t in texts), texts
    assert len(labels) >= 30
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels.values()]
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)
                and min(a.x1, b.x1) - max(a.x0, b.x0) > 2 and min(a.y1, b.y1) - max(a.y0, b.y0) > 2]
    assert len(overlaps) <= 1, len(overlaps)


def test_colours_are_groups_as_the_legend_says(db, team, web):
    g, (fig, labels) = _figure(db, team, web, team.alice)
    ax = fig.axes[0]
    legend = ax.get_legend()
    entries = [t.get_text() for t in legend.get_texts()]
    customer_entries = [e for e in entries if e.startswith("customer")]
    colours = {tuple(c) for coll in ax.collections if getattr(coll, "get_facecolor", None)
               for c in coll.get_facecolor().round(3)}
    assert len(customer_entries) >= 2 and len(colours) >= len(customer_entries)


def test_graph_shows_the_edge_intro_reports(engine, db, team, web):
    intro = say(engine, "UALICE", f"/crm intro #{team.wang}").plain_text()
    assert "Alice Rep" in intro or "you" in intro
    g, (fig, labels) = _figure(db, team, web, team.alice)
    staff_nodes = [n for n in labels if isinstance(n, tuple)]
    assert ("staff", "Alice Rep") in staff_nodes and ("staff", "张敏") in staff_nodes


def test_empty_campaign_chart_says_no_data_yet(db, team):
    from datetime import date

    from crm.campaigns.chart import campaign_figure, render_campaign_chart
    from crm.campaigns.results import report
    from crm.models import Campaign, CampaignRecipient

    with db.session() as s:
        campaign = Campaign(name="春季活动", segment="tier=vip", created_by_id=team.manager, status="sending")
        s.add(campaign)
        s.flush()
        s.add(CampaignRecipient(campaign_id=campaign.id, customer_id=team.globex, status="pending"))
        s.flush()
        result = report(s, campaign)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig = campaign_figure(result)
            path = render_campaign_chart(result, today=date(2026, 11, 23))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.startswith("No data yet") for t in texts), texts
    replies_axis = fig.axes[1]
    assert replies_axis.get_ylim()[1] >= 4  # whole customers, not 0.00–0.05
    assert path.name.startswith(f"campaign-{campaign.id}-20261123-")
    again = render_campaign_chart(result, today=date(2026, 11, 23))
    assert again == path  # the same figures: the picture is not drawn twice
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o044 == 0o044
