"""A reply's image and file, uploaded to Slack (files_upload_v2), falling back to the user's DM
when the channel refuses. Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

import logging
from pathlib import Path

from slack_sdk.errors import SlackApiError

from bot.replies import Reply
from crm import file_retention

log = logging.getLogger("crm.slack")


class Uploads:
    """``SlackAdapter``'s uploads (needs ``self.client`` and ``self._dm_channel``)."""

    async def _upload_files(self, channel: str, reply: Reply, fallback_user: str | None = None) -> str | None:
        """Uploads the reply's image and file; returns the channel they went to."""
        for path in (reply.image_path, reply.file_path):
            if not path:
                continue
            if not Path(path).is_file():
                log.warning("reply names a file that does not exist: %s", path)
                continue
            try:
                await self.client.files_upload_v2(channel=channel, file=path, filename=Path(path).name,
                                                  title=Path(path).name)
            except SlackApiError as err:
                if fallback_user is None:
                    raise
                log.info("upload to %s failed (%s); sending it as a DM", channel, err.response.get("error"))
                channel, fallback_user = await self._dm_channel(fallback_user), None
                await self.client.files_upload_v2(channel=channel, file=path, filename=Path(path).name,
                                                  title=Path(path).name)
            file_retention.delivered(path)  # a privacy export is for this one delivery
        return channel
