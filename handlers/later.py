"""Commands of the contract whose capability has not landed yet: a clean, honest answer.

Registered only when no other module has claimed the name, so a capability replaces its
placeholder simply by existing.
"""
from __future__ import annotations

from bot.registry import COMMANDS, command
from bot.replies import Reply

PLANNED = {
    "similar": ("similar <customer>", "customers most like this one, and why", "Insights"),
    "next": ("next", "who to contact today, and why", "Insights"),
    "intro": ("intro <customer>", "the warmest path to a customer through people we know", "Insights"),
    "insights": ("insights", "key connectors, clusters and decaying relationships", "Insights"),
    "graph": ("graph <customer>", "a picture of the customer's relationships", "Insights"),
    "digest": ("digest [subscribe|unsubscribe]", "preview the daily digest, or subscribe to it", "Insights"),
    "campaign": ("campaign new|preview|send|report <name> …", "Telegram campaigns to consenting customers",
                 "Campaigns"),
    "stats": ("stats [team|me] [period]", "response times, resolution and satisfaction", "Insights"),
}


def _placeholder(name: str):
    def handler(ctx) -> Reply:
        return Reply(text=ctx.t("`/crm {name}` is not available yet: it arrives in a coming release. "
                                "Type `/crm help` to see what works today.",
                                "`/crm {name}` 暂不可用，将在后续版本提供。输入 `/crm help` 查看当前可用的命令。",
                                name=name))

    return handler


for _name, (_usage, _summary, _group) in PLANNED.items():
    if _name not in COMMANDS:
        command(_name, usage=_usage, summary=_summary + " (coming soon)", group=_group)(_placeholder(_name))
