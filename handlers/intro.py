"""`/crm intro <customer>`: the warmest path from you (or a colleague) to a customer."""
from __future__ import annotations

from sqlmodel import col, select

from bot.registry import command
from bot.replies import Button, Item, Reply, Section
from crm.customers import resolve_staff
from crm.graph import WarmPath, warm_paths
from crm.insights.read import _names
from crm.insights.snapshot import REL_KINDS
from crm.models import Company, Customer, Interaction, Staff
from handlers._insights import relation_graph

USAGE = "intro <customer> [from=@colleague]"
KIND_EN = {"membership": "works at", "referred": "referred", "knows": "knows", "works-with": "works with"}
KIND_ZH = {"membership": "任职于", "referred": "推荐", "knows": "认识", "works-with": "同事"}


@command("intro", usage=USAGE, summary="the warmest path to a customer through people we know", group="Insights",
         summary_zh="通过认识的人联系到客户的最热路径",
         examples=["intro globex", "intro #42 from=@bob", 'intro "Li Na"'],
         details="Every hop shows its strength (0–1) and what it rests on: the last interaction for a colleague's "
                 "relationship, the recorded link between customers, or a shared company. A path's strength is the "
                 "product of its hops.")
def intro(ctx) -> Reply:
    options = ctx.command.take_options({"from"}, USAGE)
    tokens = ctx.command.tokens
    if not tokens:
        raise ctx.fail(ctx.t("Who do you want an introduction to? e.g. `/crm intro globex`.",
                             "你想认识哪位客户？例如 `/crm intro globex`。"))
    target = ctx.customer(" ".join(t.value for t in tokens), quoted=tokens[0].quoted)
    start = resolve_staff(ctx.session, options["from"]) if options.get("from") else ctx.actor
    graph = relation_graph(ctx)
    paths = warm_paths(graph, target.id, limit=max(1, len(graph.staff_ids)))
    mine = next((p for p in paths if p.staff_id == start.id), None)
    others = [p for p in paths if p.staff_id != start.id][:3]
    you = ctx.t("you", "你") if start.id == ctx.actor.id else start.name
    if mine is None and not others:
        return Reply(text=ctx.t("No warm path to {name}: nobody here has a relationship that leads there "
                                "(every path is weaker than 0.01). Start with a cold introduction, then log it with "
                                "`/crm log #{id} …` so the graph learns.",
                                "没有通往 {name} 的熟人路径。请先直接联系，并用 `/crm log #{id} …` 记录。",
                                name=target.name, id=target.id))
    sections = []
    if mine is not None:
        head = ctx.t("Warmest path from {you} to {name}: strength {s:.2f} over {h}.",
                     "从{you}到 {name} 的最佳熟人路径：强度 {s:.2f}，共 {h} 步。", you=you, name=target.name,
                     s=mine.strength, h=len(mine.hops) if ctx.lang == "zh" else ctx.plural(len(mine.hops), "{n} hop", "{n} hops", ""))
        items = _hops(ctx, graph, mine, start)
    else:
        head = ctx.t("No warm path from {you} to {name}. Colleagues who can introduce you:",
                     "{you}没有通往 {name} 的熟人路径。可以请这些同事引荐：", you=you, name=target.name)
        items = []
    staff_names = _names(ctx.session, Staff, [p.staff_id for p in others])
    for p in others:
        if mine is not None and p.strength <= mine.strength:
            continue
        sections.append(Section(
            ctx.t("Warmer via {who}: strength {s:.2f}", "经 {who} 更近：强度 {s:.2f}",
                  who=staff_names.get(p.staff_id, "?"), s=p.strength),
            items=_hops(ctx, graph, p, ctx.session.get(Staff, p.staff_id))))
    return Reply(text=head, items=items, sections=sections,
                 buttons=[Button(ctx.t("Show customer", "查看客户"), f"show #{target.id}")])


def _hops(ctx, graph, path: WarmPath, staff: Staff) -> list[Item]:
    labels = [graph.node_label(n) for n in path.nodes]
    names = _names(ctx.session, Customer, [ident for kind, ident in labels if kind == "customer"])
    companies = _names(ctx.session, Company, [ident for kind, ident in labels if kind == "company"])

    def name(label) -> str:
        kind, ident = label
        return f"{names.get(ident, '?')} (#{ident})" if kind == "customer" else f"🏢 {companies.get(ident, '?')}"

    first_id = labels[0][1]
    last = ctx.session.exec(select(Interaction).where(Interaction.customer_id == first_id,
                                                      Interaction.staff_id == staff.id,
                                                      Interaction.direction != "internal")
                            .order_by(col(Interaction.occurred_at).desc()).limit(1)).first()
    basis = ctx.t("last: {kind} {at} — {text}", "最近：{kind} {at} — {text}", kind=last.kind,
                  at=ctx.fmt(last.occurred_at), text=_clip(last.text, 80)) if last \
        else ctx.t("no logged interaction", "无互动记录")
    who = ctx.t("You", "你") if staff.id == ctx.actor.id else staff.name
    items = [Item(f"{who} → {name(labels[0])} · {path.hops[0]:.2f} · {basis}")]
    words = KIND_ZH if ctx.lang == "zh" else KIND_EN
    for index, (a, b) in enumerate(zip(labels, labels[1:])):
        kind = _edge_kind(graph, path, index)
        word = words.get(kind, kind)
        if kind == "membership" and a[0] == "company":
            word = ctx.t("colleague there", "同公司同事")
        items.append(Item(f"{name(a)} → {name(b)} · {path.hops[index + 1]:.2f} · {word}"))
    return items


def _edge_kind(graph, path: WarmPath, index: int) -> str:
    code = int(graph.edge_kind[path.nodes[index], path.nodes[index + 1]])
    return REL_KINDS[code - 1] if code > 0 else "knows"


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
