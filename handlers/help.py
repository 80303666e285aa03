"""`/crm help`: built from every handler's own usage text."""
from __future__ import annotations

from bot.registry import COMMANDS, command, lookup
from bot.replies import Item, Reply, Section

GROUP_ZH = {"Customers": "客户", "Follow-ups": "跟进", "Deals": "商机", "Insights": "洞察",
            "Customers on Telegram": "Telegram 客户", "Team": "团队", "Privacy": "隐私", "Campaigns": "营销活动",
            "Stats": "统计", "Notes": "备注"}
GROUP_ORDER = ["Customers", "Follow-ups", "Deals", "Insights", "Customers on Telegram", "Team", "Privacy", "Campaigns",
               "Help"]


@command("help", usage="help [command]", summary="list the commands, or explain one", group="Help",
         summary_zh="列出所有命令，或说明其中一个",
         examples=["help", "help log"], read_only=True)
def help_command(ctx) -> Reply:
    if ctx.command.tokens:
        name = ctx.command.args[0].lower().lstrip("/")
        spec = lookup(name)
        if spec is None:
            raise ctx.fail(ctx.t("There is no command `{n}`. Type `/crm help` for the list.",
                                 "没有 `{n}` 这个命令。输入 `/crm help` 查看全部命令。", n=name[:40]))
        fields = [(ctx.t("Usage", "用法"), f"/crm {spec.usage}")]
        if spec.examples:
            fields.append((ctx.t("Examples", "示例"), "\n".join(f"/crm {e}" for e in spec.examples)))
        text = f"/crm {spec.name}: {spec.summary_in(ctx.lang)}" + (f"\n{spec.details}" if spec.details else "")
        return Reply(text=text, fields=fields)
    groups: dict[str, list] = {}
    for spec in COMMANDS.values():
        groups.setdefault(spec.group, []).append(spec)
    sections = []
    for group in sorted(groups, key=lambda g: GROUP_ORDER.index(g) if g in GROUP_ORDER else 99):
        sections.append(Section(GROUP_ZH.get(group, group) if ctx.lang == "zh" else group, items=[Item(f"/crm {s.usage} — {s.summary_in(ctx.lang)}")
                                              for s in sorted(groups[group], key=lambda s: s.name)]))
    intro = ctx.t("Here is what I can do. Customers are named by a quoted name, one word of their name, "
                  "company or email, or #id. Dates can be natural language (“tomorrow 3pm”, “明天下午3点”). "
                  "`/crm help <command>` explains one.",
                  "我可以做这些。客户可用引号括起的全名、名字/公司/邮箱中的一个词或 #编号 指定。日期可以用自然语言"
                  "（“明天下午3点”、“tomorrow 3pm”）。输入 `/crm help <命令>` 查看详细说明。")
    return Reply(text=intro, sections=sections)
