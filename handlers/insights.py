"""`/crm insights`: key connectors, brokers, clusters, single-threaded accounts, fading relationships."""
from __future__ import annotations

from bot.registry import command
from bot.replies import Button, Item, Reply, Section
from crm.insights import read
from handlers._insights import ensure_insights

LIMIT = 5


@command("insights", usage="insights", summary="key connectors, clusters and decaying relationships",
         group="Insights", examples=["insights"],
         details="From the nightly job: connectors (sampled betweenness, PageRank), brokers between clusters "
                 "(betweenness × how evenly their links spread over clusters), clusters (community detection), "
                 "valuable accounts that hang on one person, and relationships that faded in 90 days.")
def insights(ctx) -> Reply:
    ensure_insights(ctx)
    status = read.status(ctx.session)
    zh = ctx.lang == "zh"

    def why(x) -> str:
        return x.why_zh if zh else x.why

    sections = []
    connectors = read.key_connectors(ctx.session, LIMIT)
    if connectors:
        items = [Item(f"{c.name} (#{c.customer_id})" + (f" · {c.company}" if c.company else "") + f" — {why(c)}",
                      [Button(ctx.t("Graph"), f"graph #{c.customer_id}")]) for c in connectors]
        if status and status.connectors_error is not None:
            # a large graph: the numbers are estimates, and the reader is told how good
            note = ctx.t("estimated from {paths} sampled shortest routes: each share within ±{error} of its value "
                         "(probability 90%)", paths=f"{status.connectors_samples or 0:,}",
                         error=f"{100 * status.connectors_error:.0f}%")
            if not status.connectors_settled:
                note += ctx.t("; connectors closer than that may swap places from one night to the next")
            items.append(Item(note))
        sections.append(Section(ctx.t("Key connectors"), items=items))
    brokers = read.brokers(ctx.session, 3)
    if brokers:
        sections.append(Section(ctx.t("Brokers between clusters"), items=[
            Item(f"{b.name} (#{b.customer_id}) — {why(b)}") for b in brokers]))
    clusters = read.clusters(ctx.session, LIMIT)
    if clusters:
        sections.append(Section(ctx.t("Clusters of related accounts"), items=[
            Item(why(c)) for c in clusters]))
    lonely = read.single_threaded_accounts(ctx.session, LIMIT)
    if lonely:
        sections.append(Section(ctx.t("Single-threaded accounts"), items=[
            Item(f"{a.company} — {why(a)}", [Button(ctx.t("Intro"), f"intro #{a.customer_id}")])
            for a in lonely]))
    mine = read.decaying_relationships(ctx.session, LIMIT, staff_id=ctx.actor.id)
    fading = mine or read.decaying_relationships(ctx.session, LIMIT)
    if fading:
        title = ctx.t("Your fading relationships") if mine else \
            ctx.t("Fading relationships")
        sections.append(Section(title, items=[
            Item(why(d), [Button(ctx.t("Log interaction"), f"log #{d.customer_id}", form="log")])
            for d in fading]))
    when = ctx.fmt(status.computed_at) if status else "—"
    if status and status.risk_source == "heuristic":
        risk = ctx.t("risk by heuristic: only {c} churned / {s} stayed customers, a model needs {m} of each", c=status.churned, s=status.stayed,
                     m=status.min_labels)
    elif status:
        auc = f", AUC {status.auc_cv:.2f}" if status.auc_cv is not None else ""
        risk = ctx.t("risk by model trained on {c} churned / {s} stayed{auc}", c=status.churned, s=status.stayed, auc=auc)
    else:
        risk = ""
    if not sections:
        return Reply(text=ctx.t("Nothing stands out in the relationship graph yet ({risk}; computed {at}).", risk=risk, at=when))
    return Reply(text=ctx.t("Relationship insights (computed {at}; {risk}):",
                            at=when, risk=risk), sections=sections)
