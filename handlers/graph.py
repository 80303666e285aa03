"""`/crm graph <customer>`: a picture of the customer's relationships."""
from __future__ import annotations

from bot.registry import command
from bot.replies import Button, Reply
from crm.insights.graph import neighbourhood
from crm.insights.graph_image import draw_neighbourhood
from crm.insights.read import _names
from crm.models import Company, Customer, Staff
from handlers._insights import added_since_refresh, relation_graph

MAX_STAFF = 4


@command("graph", usage="graph <customer>", summary="a picture of the customer's relationships", group="Insights",
         examples=["graph globex", "graph #42"],
         details="The customer, its strongest relationships out to two hops, their companies and the colleagues "
                 "who know them; line width is strength. Sent as an image in Slack, saved as a PNG in the terminal.")
def graph(ctx) -> Reply:
    tokens = ctx.command.tokens
    if not tokens:
        raise ctx.fail(ctx.t("Which customer? e.g. `/crm graph globex`."))
    customer = ctx.customer(" ".join(t.value for t in tokens), quoted=tokens[0].quoted)
    g = relation_graph(ctx)
    centre = g.customer_position(customer.id)
    if centre is None:
        return added_since_refresh(ctx, customer.name, ctx.t("the picture appears"))
    nodes = neighbourhood(g, centre)
    ids = [g.node_label(int(n)) for n in nodes]
    customer_names = _names(ctx.session, Customer, [i for k, i in ids if k == "customer"])
    company_names = _names(ctx.session, Company, [i for k, i in ids if k == "company"])
    in_view = {int(n) for n in nodes if n < g.n_customers}
    se = g.staff_edges
    # every relationship of the colleagues shown (not only each one's strongest), and always the
    # asker's own: the picture shows the same edges `/crm intro` walks
    edges: dict[int, list[tuple[float, int]]] = {}
    for s, c, w in zip(se.staff, se.customer, se.strength):
        if int(c) in in_view:
            edges.setdefault(int(s), []).append((float(w), int(c)))
    ranked = sorted(edges, key=lambda s: -max(w for w, _ in edges[s]))
    me = next((s for s in edges if int(g.staff_ids[s]) == ctx.actor.id), None)
    shown = ranked[:MAX_STAFF] if me is None or me in ranked[:MAX_STAFF] else ranked[:MAX_STAFF - 1] + [me]
    staff_names = _names(ctx.session, Staff, [int(g.staff_ids[s]) for s in shown])
    staff = [(staff_names.get(int(g.staff_ids[s]), "?"), int(g.customer_ids[c]), w)
             for s in shown for w, c in edges[s]]
    path = draw_neighbourhood(g, customer.id, customer_names=customer_names, company_names=company_names,
                              staff=staff, title=f"{customer.name} (#{customer.id})",
                              now=ctx.now.astimezone(ctx.settings.zone))
    ctx.audit("customer.graph", customer)
    others = len(customer_names) - 1
    return Reply(text=ctx.t("Relationships of {name}: {n}, {c}, {s}.", name=customer.name,
                            n=ctx.plural(max(0, others), "{n} related customer", "{n} related customers"),
                            c=ctx.plural(len(company_names), "{n} company", "{n} companies"),
                            s=ctx.plural(len(shown), "{n} colleague", "{n} colleagues")),
                 image_path=str(path),
                 buttons=[Button(ctx.t("Warm intro"), f"intro #{customer.id}"),
                          Button(ctx.t("Similar"), f"similar #{customer.id}")])
