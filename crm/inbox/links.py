"""Which Telegram message a Slack message of a ticket's thread became, or the other way round
(``relayed_message``: ids only), so that an edit or a deletion on one side can follow on the other."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import insert, update
from sqlmodel import Session, col

from crm.models import RelayedMessage


def _model_defaults() -> dict:
    """The model's own defaults of the columns a link need not name (its part, not deleted, created now)."""
    return {name: field.get_default(call_default_factory=True)
            for name, field in RelayedMessage.model_fields.items() if not field.is_required() and name != "id"}


def add_links(session: Session, *, ticket_id: int | None, direction: str, slack_channel: str, slack_ts: str,
              messages: Iterable[tuple[int | None, int, int, str]]) -> int:
    """Links the Slack message (``slack_channel``, ``slack_ts``) to Telegram ``messages``: (interaction, chat,
    Telegram message, part) each; ``direction`` inbound (customer → staff) or outbound. One Core INSERT in the
    caller's unit of work: a coalesced post carries up to a few dozen messages, and as ORM objects they were
    ~40% of marking the post sent. How many were added."""
    defaults = _model_defaults()
    rows = [{**defaults, "ticket_id": ticket_id, "interaction_id": interaction_id, "direction": direction,
             "slack_channel": slack_channel, "slack_ts": slack_ts, "telegram_chat_id": chat_id,
             "telegram_message_id": message_id, "part": part}
            for interaction_id, chat_id, message_id, part in messages]
    if rows:
        session.execute(insert(RelayedMessage.__table__), rows)
    return len(rows)


def mark_deleted(session: Session, *, link_ids: list[int]) -> int:
    """The linked Telegram messages were deleted: their links stay, marked, and an edit no longer reaches them.
    How many were marked."""
    if not link_ids:
        return 0
    return session.execute(update(RelayedMessage).where(col(RelayedMessage.id).in_(link_ids))
                           .values(deleted=True).execution_options(synchronize_session=False)).rowcount
