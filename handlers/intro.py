"""`/crm intro <customer>`: the warmest path from you (or a colleague) to a customer."""
from __future__ import annotations

from sqlmodel import col, select

from bot.registry import command
from bot.replies import Button, Item, Reply, Section
from crm.customers import resolve_staff
from crm.i18n import NP_
from crm.insights.graph import WARM_FLOOR, WarmPath, staff_strength, warm_paths
from crm.insights.read import _names
from crm.insights.snapshot import REL_KINDS
from crm.models import Company, Customer, Interaction, Staff
from handlers._insights import relation_graph

USAGE = "intro <customer> [from=@colleague]"
KIND_WORDS = {"membership": NP_("relationship", "works at"), "referred": NP_("relationship", "referred"),
              "knows": NP_("relationship", "knows"), "works-with": NP_("relationship", "works with")}


@command("intro", usage=USAGE, summary="the warmest path to a customer through people we know", group="Insights",
         examples=["intro globex", "intro #42 from=@bob", 'intro "Li Na"'],
         details="Every hop shows its strength (0–1) and what it rests on: the last interaction for a colleague's "
                 "relationship, the recorded link between customers, or a shared company. A path's strength is the "
                 "product of its hops.")
def intro(ctx) -> Reply:
    options = ctx.command.take_options({"from"}, USAGE)
    tokens = ctx.command.tokens
    if not tokens:
        raise ctx.fail(ctx.t("Who do you want an introduction to? e.g. `/crm intro globex`."))
    target = ctx.customer(" ".join(t.value for t in tokens), quoted=tokens[0].quoted)
    start = resolve_staff(ctx.session, options["from"]) if options.get("from") else ctx.actor
    graph = relation_graph(ctx)
    you = ctx.t("you") if start.id == ctx.actor.id else start.name
    if target.owner_id == start.id:
        return _already_known(ctx, graph, target, start)
    max_hops = ctx.settings.intro_max_hops
    paths = warm_paths(graph, target.id, limit=max(1, len(graph.staff_ids)), max_hops=max_hops)
    mine = next((p for p in paths if p.staff_id == start.id), None)
    others = [p for p in paths if p.staff_id != start.id][:3]
    if mine is None and not others:
        return Reply(text=ctx.t("No warm path to {name}: nobody here is linked to them within {hops} hops. Start with "
                                "a cold introduction, then log it with `/crm log #{id} …` so the graph learns.",
                                name=target.name, id=target.id, hops=max_hops))
    sections = []
    if mine is not None and mine.weak:
        head = ctx.t("Only a weak path from {you} to {name}: strength {s:.3f} over {h}, below {floor} — "
                     "an introduction this way would be nearly cold.",
                     you=you, name=target.name, s=mine.strength, floor=WARM_FLOOR,
                     h=ctx.plural(len(mine.hops), "{n} hop", "{n} hops"))
        items = _hops(ctx, graph, mine, start)
    elif mine is not None:
        head = ctx.t("Warmest path from {you} to {name}: strength {s:.2f} over {h}.", you=you, name=target.name,
                     s=mine.strength, h=ctx.plural(len(mine.hops), "{n} hop", "{n} hops"))
        items = _hops(ctx, graph, mine, start)
    else:
        head = ctx.t("No warm path from {you} to {name}. Colleagues who can introduce you:", you=you, name=target.name)
        items = []
    staff_names = _names(ctx.session, Staff, [p.staff_id for p in others])
    for p in others:
        if mine is not None and p.strength <= mine.strength:
            continue
        who = staff_names.get(p.staff_id, "?")
        title = ctx.t("Only a weak path via {who}: strength {s:.3f} (below {floor})",
                      who=who, s=p.strength, floor=WARM_FLOOR) if p.weak else \
            ctx.t("Warmer via {who}: strength {s:.2f}", who=who, s=p.strength)
        sections.append(Section(title,
            items=_hops(ctx, graph, p, ctx.session.get(Staff, p.staff_id))))
    return Reply(text=head, items=items, sections=sections,
                 buttons=[Button(ctx.t("Show customer"), f"show #{target.id}")])


def _already_known(ctx, graph, target: Customer, staff: Staff) -> Reply:
    strength = staff_strength(graph, staff.id, target.id)
    last = _last_interaction(ctx, staff.id, target.id)
    basis = ctx.t("last: {kind} {at} — {text}", kind=last.kind,
                  at=ctx.fmt(last.occurred_at), text=_clip(last.text, 80)) if last \
        else ctx.t("no logged interaction yet")
    if staff.id == ctx.actor.id:
        text = ctx.t("{name} is your own customer: you already know them (relationship strength {s:.2f}; {basis}).",
                     name=target.name, s=strength, basis=basis)
    else:
        text = ctx.t("{name} is {who}'s own customer: {who} already knows them (relationship strength {s:.2f}; "
                     "{basis}).",
                     name=target.name, who=staff.name, s=strength, basis=basis)
    return Reply(text=text, buttons=[Button(ctx.t("Show customer"), f"show #{target.id}")])


def _last_interaction(ctx, staff_id: int, customer_id: int) -> Interaction | None:
    return ctx.session.exec(select(Interaction).where(Interaction.customer_id == customer_id,
                                                      Interaction.staff_id == staff_id,
                                                      Interaction.direction != "internal")
                            .order_by(col(Interaction.occurred_at).desc()).limit(1)).first()


def _hops(ctx, graph, path: WarmPath, staff: Staff) -> list[Item]:
    labels = [graph.node_label(n) for n in path.nodes]
    names = _names(ctx.session, Customer, [ident for kind, ident in labels if kind == "customer"])
    companies = _names(ctx.session, Company, [ident for kind, ident in labels if kind == "company"])

    def name(label) -> str:
        kind, ident = label
        return f"{names.get(ident, '?')} (#{ident})" if kind == "customer" else f"🏢 {companies.get(ident, '?')}"

    first_id = labels[0][1]
    last = _last_interaction(ctx, staff.id, first_id)
    basis = ctx.t("last: {kind} {at} — {text}", kind=last.kind,
                  at=ctx.fmt(last.occurred_at), text=_clip(last.text, 80)) if last \
        else ctx.t("no logged interaction")
    who = ctx.t("You") if staff.id == ctx.actor.id else staff.name
    items = [Item(f"{who} → {name(labels[0])} · {path.hops[0]:.2f} · {basis}")]
    for index, (a, b) in enumerate(zip(labels, labels[1:])):
        kind = _edge_kind(graph, path, index)
        word = ctx.pt("relationship", KIND_WORDS[kind]) if kind in KIND_WORDS else kind
        if kind == "membership" and a[0] == "company":
            word = ctx.t("colleague there")
        items.append(Item(f"{name(a)} → {name(b)} · {path.hops[index + 1]:.2f} · {word}"))
    return items


def _edge_kind(graph, path: WarmPath, index: int) -> str:
    code = int(graph.edge_kind[path.nodes[index], path.nodes[index + 1]])
    return REL_KINDS[code - 1] if code > 0 else "knows"


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
