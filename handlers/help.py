"""`/crm help`: built from every handler's own usage text."""
from __future__ import annotations

from bot.registry import COMMANDS, command, lookup
from bot.replies import Item, Reply, Section
from crm.i18n import NP_

# the group names as the catalogue knows them (a group is named in English where its commands register)
GROUPS = (NP_("command group", "Customers"), NP_("command group", "Follow-ups"), NP_("command group", "Deals"),
          NP_("command group", "Insights"), NP_("command group", "Customers on Telegram"),
          NP_("command group", "Team"), NP_("command group", "Privacy"), NP_("command group", "Campaigns"),
          NP_("command group", "Stats"), NP_("command group", "Notes"), NP_("command group", "Help"))
GROUP_ORDER = ["Customers", "Follow-ups", "Deals", "Insights", "Customers on Telegram", "Team", "Privacy", "Campaigns",
               "Help"]


@command("help", usage="help [command]", summary="list the commands, or explain one", group="Help",
         examples=["help", "help log"], read_only=True)
def help_command(ctx) -> Reply:
    if ctx.command.tokens:
        name = ctx.command.args[0].lower().lstrip("/")
        spec = lookup(name)
        if spec is None:
            raise ctx.fail(ctx.t("There is no command `{n}`. Type `/crm help` for the list.", n=name[:40]))
        fields = [(ctx.t("Usage"), f"/crm {spec.usage}")]
        if spec.examples:
            fields.append((ctx.t("Examples"), "\n".join(f"/crm {e}" for e in spec.examples)))
        text = f"/crm {spec.name}: {spec.summary_in(ctx.lang)}" + (f"\n{spec.details}" if spec.details else "")
        return Reply(text=text, fields=fields)
    groups: dict[str, list] = {}
    for spec in COMMANDS.values():
        groups.setdefault(spec.group, []).append(spec)
    sections = []
    for group in sorted(groups, key=lambda g: GROUP_ORDER.index(g) if g in GROUP_ORDER else 99):
        sections.append(Section(ctx.pt("command group", group), items=[Item(f"/crm {s.usage} — {s.summary_in(ctx.lang)}")
                                              for s in sorted(groups[group], key=lambda s: s.name)]))
    intro = ctx.t("Here is what I can do. Customers are named by a quoted name, one word of their name, "
                  "company or email, or #id. Dates can be natural language (“tomorrow 3pm”, “明天下午3点”). "
                  "`/crm help <command>` explains one.")
    return Reply(text=intro, sections=sections)
