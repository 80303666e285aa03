"""The Slack adapter, on slack-bolt, split by job (the layout of Bolt's starter template).

``from integrations.slack import SlackAdapter`` stays the public entry point. It is imported on
first use (PEP 562), so ``integrations.slack.blocks`` (rendering, used by formatting and tests)
does not pull in Bolt and the whole adapter.
"""
from __future__ import annotations

__all__ = ["SlackAdapter"]


def __getattr__(name: str):
    if name == "SlackAdapter":
        from integrations.slack.adapter import SlackAdapter

        return SlackAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
