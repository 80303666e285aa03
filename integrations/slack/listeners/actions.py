"""Button clicks and overflow menus: run the button's command as the clicker, or open its form.
Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

from bot.replies import Button
from integrations.slack import blocks as kit
from integrations.slack.answering import Origin


class ActionListeners:
    """``block_actions`` (acked at once; these run afterwards as Bolt lazy listeners)."""

    @staticmethod
    def _origin(body: dict) -> Origin:
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        home = (body.get("view") or {}).get("type") == "home"
        return Origin(body["user"]["id"], channel, body.get("response_url"), home)

    async def _on_run_button(self, body: dict, action: dict) -> None:
        await self._press(body, Button(label="", command=action.get("value", "")))

    async def _on_form_button(self, body: dict, action: dict) -> None:
        form = action["action_id"].split(":")[1]
        await self._press(body, Button(label="", command=action.get("value", ""), form=form))

    async def _on_menu(self, body: dict, action: dict) -> None:
        form, command = kit.parse_menu_value((action.get("selected_option") or {}).get("value", ""))
        await self._press(body, Button(label="", command=command, form=form))

    async def _press(self, body: dict, button: Button) -> None:
        origin = self._origin(body)

        async def work():
            if button.form:
                await self.open_form(body["trigger_id"], origin, button)
                return
            reply = await self.run(origin.user_id, button.command, channel_id=origin.channel_id,
                                   message_id=f"act:{body.get('trigger_id')}")
            await self._answer(origin, reply)

        await self._guarded(origin, work)
