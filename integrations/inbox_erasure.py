"""An erased customer's Slack thread: what the bot relayed there is deleted (the erasure's Slack part).

``crm/erasure.py`` queues one ``erase`` row per ticket thread in the inbox outbox, in the erasure's own
transaction, holding ids only: the channel, the root card's ts and the ts of every other message the
bot posted in the thread. The relay claims it like any send (integrations/inbox_relay.py), so a restart
loses nothing and a second instance does not run it again; this module runs it.

Replies go first, the root card last. A message already gone counts as deleted, so a job retried
after a crash or a network error (``TeamInbox.delete`` raises) simply continues. Where Slack refuses
for good (a message older than the bot may delete, a missing ``chat:write`` scope, a workspace that
keeps messages for compliance), and for files the customer sent (uploaded into the thread, not
deletable by message), a short note in the thread asks an admin to remove what is left. The note
names nobody.
"""
from __future__ import annotations

import logging

from bot.replies import Reply

log = logging.getLogger("crm.inbox")


def admin_note(refused: int, reason: str | None, files: bool) -> str:
    parts = ["🗑 This customer's personal data was erased."]
    if refused:
        parts.append(f"Slack did not let the bot delete {refused} message(s) relayed here ({reason}); "
                     "a workspace admin must remove them.")
    if files:
        parts.append("Files the customer sent were uploaded into this thread; a workspace admin must delete them.")
    return " ".join(parts)


async def erase_thread(team_inbox, payload: dict) -> str:
    """Runs one erase job; returns a summary for the outbox row ("deleted 3, refused 1")."""
    channel, root = payload["channel"], payload["thread_ts"]
    refused: list[str] = []
    reason = None
    for ts in payload.get("messages") or []:
        why = await team_inbox.delete(channel, ts)
        if why is not None:
            refused.append(ts)
            reason = reason or why
    noted = False
    if refused or payload.get("files"):
        # before the root goes: a reply under a deleted root stays readable in the thread
        await team_inbox.post(channel, root, Reply(text=admin_note(len(refused), reason, bool(payload.get("files")))))
        noted = True
    why = await team_inbox.delete(channel, root)
    if why is not None:
        refused.append(root)
        if not noted:
            await team_inbox.post(channel, root, Reply(text=admin_note(1, why, False)))
    if refused:
        log.warning("erasure: Slack refused to delete %d message(s) in %s (%s); an admin was asked in the thread",
                    len(refused), channel, reason or why)
    total = len(payload.get("messages") or []) + 1
    return f"deleted {total - len(refused)}, refused {len(refused)}"
