"""The CRM's tables.

Every timestamp is an aware UTC datetime (see ``UTCDateTime``). Platform ids are strings
(Slack) or 64-bit integers (Telegram). Tables are created by the Alembic migrations in
``crm/migrations``; ``tests/test_migrations.py`` checks that they match these models.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow

ROLES = ("rep", "manager", "admin")
CUSTOMER_STAGES = ("lead", "prospect", "active", "churned")
TIERS = ("standard", "silver", "gold", "vip")
INTERACTION_KINDS = ("call", "email", "meeting", "chat", "note", "message")
DIRECTIONS = ("inbound", "outbound", "internal")
RELATIONSHIP_KINDS = ("referred", "knows", "works-with")
DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
OPEN_DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation")
TASK_STATUSES = ("open", "done", "cancelled")
TICKET_STATUSES = ("open", "pending", "resolved")


def _ts(nullable: bool = True, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    email: Optional[str] = Field(default=None, max_length=254, unique=True)
    role: str = Field(default="rep", max_length=16)
    manager_id: Optional[int] = Field(default=None, foreign_key="staff.id", index=True)
    timezone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", max_length=8)
    slack_user_id: Optional[str] = Field(default=None, max_length=32, unique=True)
    telegram_user_id: Optional[int] = Field(default=None, sa_column=Column(BigInteger, unique=True))
    prefers_telegram: bool = Field(default=False)
    digest_subscribed: bool = Field(default=False)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class Company(SQLModel, table=True):
    __tablename__ = "company"
    # a company is named case-insensitively (`/crm show "globex corporation"`): lower(name) (0019)
    __table_args__ = (Index("ix_company_lower_name", text("lower(name)")),)

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    domain: Optional[str] = Field(default=None, max_length=200, index=True)
    industry: Optional[str] = Field(default=None, max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        Index("ix_customer_owner_last_contact", "owner_id", "last_contact_at"),
        Index("ix_customer_lower_name", "name_key"),
        # a customer named by email (`/crm show ops@globex.com`) is found by lower(email) (0019)
        Index("ix_customer_lower_email", text("lower(email)")),
        # the id a customer has in the system it was imported from; later imports refer to it
        Index("uq_customer_external_id", "external_id", unique=True,
              sqlite_where=text("external_id IS NOT NULL"), postgresql_where=text("external_id IS NOT NULL")),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # casefolded name, for exact lookups without a function index
    name_key: str = Field(default="", max_length=200)
    company_id: Optional[int] = Field(default=None, foreign_key="company.id", index=True)
    email: Optional[str] = Field(default=None, max_length=254, index=True)
    phone: Optional[str] = Field(default=None, max_length=40)
    # digits only, so "+1 (555) 010-2000" and "15550102000" are the same phone
    phone_key: Optional[str] = Field(default=None, max_length=24, index=True)
    telegram_chat_id: Optional[int] = Field(default=None, sa_column=Column(BigInteger, unique=True))
    telegram_username: Optional[str] = Field(default=None, max_length=64)
    language: str = Field(default="en", max_length=8)
    tier: str = Field(default="standard", max_length=16, index=True)
    stage: str = Field(default="lead", max_length=16, index=True)
    owner_id: Optional[int] = Field(default=None, foreign_key="staff.id", index=True)
    tags: str = Field(default="", max_length=500)
    marketing_opt_out: bool = Field(default=False)
    telegram_blocked: bool = Field(default=False)
    # denormalised text the search index reads: name, company, email, phone, tags
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # Chinese characters and character pairs as words: names like 王伟 are too short for trigrams
    search_cjk: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    last_contact_at: Optional[datetime] = Field(default=None, sa_column=_ts(index=True))
    churned_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    forgotten_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    external_id: Optional[str] = Field(default=None, max_length=100)


class Relationship(SQLModel, table=True):
    __tablename__ = "relationship"
    __table_args__ = (UniqueConstraint("from_customer_id", "to_customer_id", "kind"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    from_customer_id: int = Field(foreign_key="customer.id", index=True)
    to_customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16)
    strength: float = Field(default=0.5)
    created_by_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class Ticket(SQLModel, table=True):
    """A customer conversation (Telegram), Chatwoot-style: open until resolved."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_slack_thread", "slack_channel", "slack_thread_ts"),
        Index("ix_ticket_customer_status", "customer_id", "status"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    status: str = Field(default="open", max_length=16, index=True)
    assignee_id: Optional[int] = Field(default=None, foreign_key="staff.id", index=True)
    subject: str = Field(default="", max_length=200)
    slack_channel: Optional[str] = Field(default=None, max_length=32)
    slack_thread_ts: Optional[str] = Field(default=None, max_length=32)
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))
    last_inbound_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    first_response_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    resolved_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    rating: Optional[int] = Field(default=None)
    rating_requested_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    out_of_office_sent: bool = Field(default=False)
    # what the customer's messages were read as (crm/understanding): the most serious intent so far,
    # the latest sentiment and urgency, and the union of tags; see crm/message_reading.py
    intent: Optional[str] = Field(default=None, max_length=16, index=True)
    intent_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    sentiment: Optional[str] = Field(default=None, max_length=16)
    urgency: Optional[str] = Field(default=None, max_length=16)
    tags: str = Field(default="", max_length=500)


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    segment: str = Field(default="", max_length=500)
    message_en: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    message_zh: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    starts_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    ends_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    budget: float = Field(default=0.0)
    status: str = Field(default="draft", max_length=16)  # draft, sending, sent
    created_by_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    sent_at: Optional[datetime] = Field(default=None, sa_column=_ts())  # when sending was confirmed
    finished_at: Optional[datetime] = Field(default=None, sa_column=_ts())  # when no recipient was left to try


class Interaction(SQLModel, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        UniqueConstraint("source_platform", "source_message_id", name="uq_interaction_source"),
        Index("ix_interaction_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_interaction_staff_occurred", "staff_id", "occurred_at"),
        # a colleague's last interaction with one customer (`/crm intro`): without it SQLite walked the
        # colleague's whole history, newest first, until that customer came up (0019)
        Index("ix_interaction_customer_staff_occurred", "customer_id", "staff_id", "occurred_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    kind: str = Field(default="note", max_length=16)
    direction: str = Field(default="outbound", max_length=16)
    channel: str = Field(default="console", max_length=16)  # where it was logged / happened
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    source_platform: Optional[str] = Field(default=None, max_length=16)
    source_message_id: Optional[str] = Field(default=None, max_length=128)
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id", index=True)
    campaign_id: Optional[int] = Field(default=None, foreign_key="campaign.id", index=True)


class Deal(SQLModel, table=True):
    __tablename__ = "deal"
    # the card's open deals, biggest first, read in index order rather than sorted (0019)
    __table_args__ = (Index("ix_deal_customer_amount", "customer_id", "amount"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_id: Optional[int] = Field(default=None, foreign_key="staff.id", index=True)
    title: str = Field(default="", max_length=200)
    amount: float = Field(default=0.0)
    currency: str = Field(default="USD", max_length=3)
    stage: str = Field(default="lead", max_length=16, index=True)
    stage_changed_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    expected_close: Optional[date] = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    closed_at: Optional[datetime] = Field(default=None, sa_column=_ts())


class Task(SQLModel, table=True):
    """A follow-up. Reminders are claimed by writing ``reminded_at`` before sending."""

    __tablename__ = "task"
    # status+due for the reminder sweep; customer and owner lists need their own, or SQLite
    # walks every open task through the status index
    __table_args__ = (Index("ix_task_status_due", "status", "due_at"),
                      Index("ix_task_customer_status_due", "customer_id", "status", "due_at"),
                      Index("ix_task_owner_status_due", "owner_id", "status", "due_at"))

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id")
    owner_id: int = Field(foreign_key="staff.id")
    created_by_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    title: str = Field(max_length=500)
    due_at: datetime = Field(sa_column=_ts(False))
    status: str = Field(default="open", max_length=16)
    reminded_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    reminder_attempts: int = Field(default=0)
    next_attempt_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    last_error: Optional[str] = Field(default=None, max_length=500)
    last_overdue_notice_on: Optional[date] = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    done_at: Optional[datetime] = Field(default=None, sa_column=_ts())


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_customer_at", "customer_id", "at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))
    actor_staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    actor: str = Field(default="", max_length=200)  # readable label, kept after erasure
    platform: str = Field(default="console", max_length=16)
    action: str = Field(max_length=64)
    # no foreign key: the trail outlives an erased customer
    customer_id: Optional[int] = Field(default=None)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class ProcessedEvent(SQLModel, table=True):
    """Platform event ids already acted on: Slack retries and Telegram redeliveries stop here."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_processed_event"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=200)
    processed_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))


class DigestRun(SQLModel, table=True):
    """One row per recipient per local day: claimed before sending, so a digest goes out once."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("staff_id", "run_date", "kind", name="uq_digest_run"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    run_date: date
    kind: str = Field(default="manager", max_length=16)  # manager | personal
    status: str = Field(default="claimed", max_length=16)  # claimed | sent | failed
    claimed_by: str = Field(default="", max_length=100)
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    sent_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, max_length=500)


class InviteToken(SQLModel, table=True):
    __tablename__ = "invite_token"

    token: str = Field(primary_key=True, max_length=64)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    expires_at: datetime = Field(sa_column=_ts(False))
    used_at: Optional[datetime] = Field(default=None, sa_column=_ts())


class RecommendationFeedback(SQLModel, table=True):
    __tablename__ = "recommendation_feedback"
    __table_args__ = (Index("ix_feedback_staff_customer", "staff_id", "customer_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    customer_id: int = Field(foreign_key="customer.id")
    action: str = Field(max_length=16)  # accepted | snoozed | dismissed
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    hidden_until: Optional[datetime] = Field(default=None, sa_column=_ts())
    # what the recommendation said when answered ("silent,deal,risk"): the next training learns from it
    reason_kinds: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))


class CustomerInsight(SQLModel, table=True):
    """Per-customer results of the nightly insight job, read by commands in milliseconds."""

    __tablename__ = "customer_insight"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    risk: Optional[float] = Field(default=None)
    risk_reasons: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    community: Optional[int] = Field(default=None, index=True)
    pagerank: Optional[float] = Field(default=None)
    betweenness: Optional[float] = Field(default=None)
    # `/crm next`: how much contacting this customer today is worth, and why (JSON list of reasons)
    priority: Optional[float] = Field(default=None)
    priority_reasons: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    computed_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class InsightBlob(SQLModel, table=True):
    """Cached artefacts of the insight job (models, graph summaries), keyed by name."""

    __tablename__ = "insight_blob"

    key: str = Field(primary_key=True, max_length=100)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class CampaignRecipient(SQLModel, table=True):
    __tablename__ = "campaign_recipient"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_recipient"),
        Index("ix_campaign_recipient_status", "campaign_id", "status"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    status: str = Field(default="pending", max_length=16)  # pending|sending|sent|failed|blocked|skipped|unknown
    error: Optional[str] = Field(default=None, max_length=300)
    telegram_message_id: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    sent_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    # claimed (status "sending") by one sender run; attempted_at is written just before the
    # Bot API call, so a row claimed but never attempted can safely go back to "pending"
    claimed_by: Optional[str] = Field(default=None, max_length=100)
    claimed_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    attempted_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    attempts: int = Field(default=0)


class WorkerLease(SQLModel, table=True):
    """A named job only one instance may run at a time (campaign sending): held until expires_at."""

    __tablename__ = "worker_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=100)
    expires_at: datetime = Field(sa_column=_ts(False))


class InboxOutbox(SQLModel, table=True):
    """What the customer inbox owes Telegram or Slack, written in the same transaction as its cause.

    A sender delivers rows after commit and marks them sent, so a crash in between delays a
    message instead of losing it; rows of one chat or thread go out in id order.
    """

    __tablename__ = "inbox_outbox"
    __table_args__ = (Index("ix_inbox_outbox_status_due", "status", "next_attempt_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    target: str = Field(max_length=16)  # telegram | slack
    kind: str = Field(default="message", max_length=24)  # message | note | rating | out_of_office | notice
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id", index=True)
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id", index=True)
    chat_id: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    interaction_id: Optional[int] = Field(default=None, foreign_key="interaction.id")
    payload: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = Field(default=0)
    next_attempt_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    claimed_by: Optional[str] = Field(default=None, max_length=100)
    claimed_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    last_error: Optional[str] = Field(default=None, max_length=300)
    result: Optional[str] = Field(default=None, max_length=64)  # Telegram message id or Slack ts
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    sent_at: Optional[datetime] = Field(default=None, sa_column=_ts())


class TelegramCallback(SQLModel, table=True):
    """A button sent to a staff member on Telegram, by short key: callback_data holds 64 bytes at most."""

    __tablename__ = "telegram_callback"

    key: str = Field(primary_key=True, max_length=24)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    command: str = Field(sa_column=Column(Text, nullable=False))
    form: Optional[str] = Field(default=None, max_length=16)
    confirm: Optional[str] = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))


class AcceptedCommand(SQLModel, table=True):
    """A command a platform was told we accepted (Slack's ack), kept until its answer is sent.

    The row commits before the ack, so a crash after the ack delays the answer instead of
    losing the command: another pass (this instance after a restart, or any other) finds
    rows whose lease ran out, runs them again and answers. The row is also the command's
    exactly-once claim: the engine stamps ``done_at`` in the transaction of the command's work,
    so a rerun of work that had committed is a no-op. Answered rows are deleted: nothing typed
    lingers here.
    """

    __tablename__ = "accepted_command"
    __table_args__ = (UniqueConstraint("platform", "delivery_id", name="uq_accepted_command"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    delivery_id: str = Field(max_length=200)  # Slack's trigger id
    user_id: str = Field(max_length=64)
    user_name: Optional[str] = Field(default=None, max_length=100)
    channel_id: Optional[str] = Field(default=None, max_length=64)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    reply_to: Optional[str] = Field(default=None, max_length=500)  # Slack's response_url
    attempts: int = Field(default=0)
    claimed_by: Optional[str] = Field(default=None, max_length=100)
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))
    # the command's work committed (stamped in the work's own transaction: the exactly-once claim)
    done_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    answered_at: Optional[datetime] = Field(default=None, sa_column=_ts())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))


class RelayedMessage(SQLModel, table=True):
    """One message relayed between a ticket's Slack thread and the customer's Telegram chat.

    Kept per Telegram message sent (a staff reply with a file and a long text is several), so
    an edit or a deletion on one side can follow on the other: a staff reply edited in Slack
    edits the customer's Telegram message, a customer's edit updates the relayed Slack message.
    Holds ids only, no text.
    """

    __tablename__ = "relayed_message"
    __table_args__ = (Index("ix_relayed_message_slack", "slack_channel", "slack_ts"),
                      Index("ix_relayed_message_telegram", "telegram_chat_id", "telegram_message_id"))

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: Optional[int] = Field(default=None, foreign_key="ticket.id")
    interaction_id: Optional[int] = Field(default=None, foreign_key="interaction.id")
    direction: str = Field(max_length=16)  # outbound: staff → customer; inbound: customer → staff
    slack_channel: str = Field(max_length=32)
    slack_ts: str = Field(max_length=32)
    telegram_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    telegram_message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    part: str = Field(default="text", max_length=16)  # text | caption | media: how an edit reaches it
    deleted: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))


class ErasedChat(SQLModel, table=True):
    """A chat whose customer was erased: updates about messages sent before then are dropped (an
    edit of an old message must not bring the lead back). Keyed by a hash, not the chat id."""

    __tablename__ = "erased_chat"

    key: str = Field(primary_key=True, max_length=64)
    erased_at: datetime = Field(sa_column=_ts(False))


class PendingNote(SQLModel, table=True):
    """A staff member's free-text note as understood, waiting for Confirm or Cancel.

    Nothing the note implies is stored before Confirm; confirming claims the row with a
    conditional UPDATE (pending → confirmed), so a double click or a second instance acts once.
    """

    __tablename__ = "pending_note"

    id: Optional[int] = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    platform: str = Field(default="console", max_length=16)
    status: str = Field(default="pending", max_length=16)  # pending, confirmed, cancelled
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    draft: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    result: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False, index=True))
    decided_at: Optional[datetime] = Field(default=None, sa_column=_ts())


class TelegramInbound(SQLModel, table=True):
    """A Telegram update as it arrived, stored before it is acknowledged (crm/telegram_inbound.py).

    The webhook appends the raw update here, many at a time in one transaction, and answers 200
    once that commit is durable; a processor turns the rows into customers' messages, tickets and
    sends, in arrival order, and marks them processed. ``update_id`` is unique, so a redelivered
    update is a no-op. The body is cleared once processed (customers' words are not kept twice);
    the row itself stays a while as the redelivery guard, then is pruned.
    """

    __tablename__ = "telegram_inbound"

    id: Optional[int] = Field(default=None, primary_key=True)  # arrival order
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    chat_id: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    body: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = Field(default_factory=utcnow, sa_column=_ts(False))
    processed_at: Optional[datetime] = Field(default=None, sa_column=_ts(index=True))
    # an update handled on its own (a command, a new chat, a button): held by one instance meanwhile
    lease_until: Optional[datetime] = Field(default=None, sa_column=_ts())
    claimed_by: Optional[str] = Field(default=None, max_length=100)
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, max_length=300)


class RelayPace(SQLModel, table=True):
    """Slack's per-channel pace, shared by every instance (crm/inbox/pace.py, integrations/relay_pacing.py).

    chat.postMessage allows about one post per second per channel; each instance used to keep its
    own count, so N instances relaying into one inbox channel posted up to N a second and were
    refused. One row per channel holds the generic cell rate's next conforming moments (epoch
    seconds, every instance's wall clock): ``slot_at`` for posts being prepared, pushed out by a
    429's Retry-After, and ``left_at`` for posts leaving. Taken with one conditional upsert each.
    """

    __tablename__ = "relay_pace"

    channel: str = Field(primary_key=True, max_length=100)
    slot_at: float = Field(default=0.0)
    left_at: Optional[float] = Field(default=None)
