"""The App Home tab: published when opened, and again with an answer on top when a button on it
was used. What it shows is ``integrations/slack/home.py``. Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

import asyncio

from integrations.slack import blocks as kit
from integrations.slack.answering import Origin
from integrations.slack.home import build_home


class HomeListeners:
    """``app_home_opened`` and publishing the Home view."""

    async def _on_home_opened(self, event: dict) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        await self._guarded(Origin(user_id, home=True), lambda: self.publish_home(user_id))

    async def publish_home(self, user_id: str, notice: str | None = None) -> None:
        staff, email = await self.identity.resolve(user_id)
        parts = await asyncio.to_thread(build_home, self.app, user_id, email, staff is not None)
        await self.client.views_publish(user_id=user_id, view=kit.home_view(parts, notice))
