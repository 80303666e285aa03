"""The team inbox port on Slack: what the customer inbox (Telegram) uses to put conversations in
Slack threads (``engine.ports.team_inbox``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.delivery import DeliveryError
from bot.replies import Reply
from integrations.slack import blocks as kit

if TYPE_CHECKING:
    from integrations.slack.adapter import SlackAdapter


# chat.delete errors that no retry will change (https://api.slack.com/methods/chat.delete#errors): a bot token
# deletes only the bot's own messages, and workspace settings may keep even those
DELETE_REFUSALS = frozenset({"cant_delete_message", "compliance_exports_prevent_deletion", "missing_scope",
                             "not_in_channel", "channel_not_found", "is_archived", "restricted_action",
                             "not_allowed_token_type", "access_denied", "ekm_access_denied", "no_permission"})


class SlackTeamInbox:
    """What the customer inbox (Telegram) uses to put conversations in Slack threads."""

    def __init__(self, adapter: SlackAdapter):
        self.adapter = adapter

    async def open_thread(self, channel: str | None, owner_slack_id: str | None, reply: Reply) -> tuple[str, str]:
        if channel is None:
            if not owner_slack_id:
                raise DeliveryError("no inbox channel (SLACK_INBOX_CHANNEL) and the customer has no owner on Slack")
            channel = await self.adapter._dm_channel(owner_slack_id)
        text, blocks = kit.render(reply)
        # customers' words: no link previews fetched from whatever URL they wrote
        posted = await self.adapter.client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                                            unfurl_links=False, unfurl_media=False)
        return posted["channel"], posted["ts"]

    async def post(self, channel: str, thread_ts: str, reply: Reply) -> str:
        text, blocks = kit.render(reply)
        posted = await self.adapter.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                            blocks=blocks, unfurl_links=False, unfurl_media=False)
        return posted["ts"]

    async def post_blocks(self, channel: str, thread_ts: str, text: str, blocks: list[dict] | None = None) -> str:
        posted = await self.adapter.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                            blocks=blocks, unfurl_links=False, unfurl_media=False)
        return posted["ts"]

    async def update_blocks(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None:
        await self.adapter.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def delete(self, channel: str, ts: str) -> str | None:
        try:
            await self.adapter.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            error = (exc.response.get("error") if exc.response is not None else None) or ""
            if error == "message_not_found":
                return None  # already gone (deleted by hand, or by an earlier try of this job)
            if error in DELETE_REFUSALS:
                return error
            raise
        return None

    async def upload(self, channel: str, thread_ts: str, content: bytes, filename: str) -> None:
        # files.getUploadURLExternal → upload → files.completeUploadExternal (channel_id, thread_ts)
        await self.adapter.client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=content,
                                                  filename=filename, title=filename, request_file_info=False)
