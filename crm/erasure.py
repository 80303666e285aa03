"""Erasure that leaves nothing behind: the rows, the indexes, the files, the caches, the raw store.

``crm/privacy.forget_customer`` blanks the customer's own rows. A store keeps copies elsewhere,
and each is handled here:

* text about the customer in *other* rows (a note on a colleague's customer naming them, the
  journal of a slash command that typed their name, a cached reason "referred by …"):
  ``scrub_mentions`` replaces their name, email, phone and username with "[erased]";
* SQLite's full-text indexes keep deleted terms in old segments until they are merged:
  ``optimize`` merges every FTS5 table, inside the erasure's transaction;
* SQLite itself keeps deleted bytes in free space and old page versions in the WAL: every
  connection runs with ``PRAGMA secure_delete=ON`` (crm/db.py), and after the commit
  ``checkpoint`` copies the WAL into the file and truncates it (``wal_checkpoint(TRUNCATE)``);
  on PostgreSQL the touched tables are vacuumed so dead tuples are gone too;
* the insight cache (graph, similarity index, summaries) holds the customer's words: its blobs
  are dropped (the next refresh rebuilds them without the customer) and so is the memory copy;
* files: privacy exports and chart pictures that name the customer are deleted;
* Slack: what the bot relayed into the customer's ticket threads (the root card, their messages, the
  bot's notes) is deleted there too. ``slack_thread_messages`` reads the ids before the rows that hold
  them (relayed_message, the sent outbox rows) are deleted; ``queue_slack_deletions`` leaves one
  ``erase`` job per thread in the inbox outbox (ids only), which integrations/inbox_erasure.py runs
  with chat.delete, claimed like every other send;
* Telegram: the chat is remembered by a hash (``ErasedChat``) so an edit of a message sent before
  the erasure, or a late redelivery, cannot re-create the lead or be relayed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, event, text
from sqlmodel import Session, col, select

from crm.file_retention import chart_dir, export_dir
from crm.models import (AcceptedCommand, AuditEvent, CampaignRecipient, Customer, CustomerInsight, Deal, ErasedChat,
                        InboxOutbox, InsightBlob, Interaction, Task, TelegramCallback, Ticket)

log = logging.getLogger("crm.erasure")

ERASED = "[erased]"
FTS_TABLES = ("customer_fts", "customer_fts_cjk")
# (model, text columns) where anyone's free text may mention a customer by name, email or phone
MENTION_COLUMNS = [
    (Interaction, ("text",)), (Task, ("title",)), (Deal, ("title",)), (Ticket, ("subject",)),
    (AuditEvent, ("detail",)), (CustomerInsight, ("risk_reasons", "priority_reasons")),
    (InboxOutbox, ("payload",)), (AcceptedCommand, ("text",)), (TelegramCallback, ("command",)),
    (CampaignRecipient, ("error",)),
]
VACUUM_TABLES = ("customer", "interaction", "task", "deal", "ticket", "audit_event", "customer_insight",
                 "inbox_outbox", "accepted_command", "telegram_callback", "insight_blob", "relationship",
                 "telegram_inbound")
MAX_SCANNED_FILE = 64 * 1024 * 1024


# ---- what identifies the customer ---------------------------------------------------------------

def identifiers(customer: Customer) -> list[str]:
    """The strings that identify this customer, longest first (so "a@b.c" goes before "a")."""
    found: set[str] = set()
    name = " ".join((customer.name or "").split())
    if name and (len(name) >= 4 or any(ord(ch) > 0x2E80 for ch in name)):  # "Li" alone would hit "Lisbon"
        found.add(name)
    for value in (customer.email, customer.telegram_username and "@" + customer.telegram_username):
        if value and len(value) >= 4:
            found.add(value)
    if customer.phone:
        found.add(customer.phone.strip())
        digits = re.sub(r"\D", "", customer.phone)
        if len(digits) >= 7:
            found.add(digits)
    return sorted(found, key=len, reverse=True)


def _pattern(needles: list[str]) -> re.Pattern | None:
    if not needles:
        return None
    parts = []
    for needle in needles:
        escaped = re.escape(needle)
        # a Latin name is a whole word ("Ann" is not in "Annual"); CJK, emails and numbers are literal
        if needle[0].isascii() and needle[0].isalnum():
            escaped = r"(?<![\w])" + escaped
        if needle[-1].isascii() and needle[-1].isalnum():
            escaped += r"(?![\w])"
        parts.append(escaped)
    return re.compile("|".join(parts), re.IGNORECASE)


def scrub_mentions(session: Session, customer: Customer, needles: list[str]) -> int:
    """Replaces the customer's identifiers in free text anywhere in the store; returns rows changed."""
    pattern = _pattern(needles)
    if pattern is None:
        return 0
    changed = 0
    for model, columns in MENTION_COLUMNS:
        for column_name in columns:
            column = getattr(model, column_name)
            matches = [column.contains(n, autoescape=True) for n in needles]
            condition = matches[0]
            for more in matches[1:]:
                condition = condition | more
            for row in session.exec(select(model).where(condition)).all():
                value = getattr(row, column_name) or ""
                cleaned = pattern.sub(ERASED, value)
                if cleaned != value:
                    setattr(row, column_name, cleaned)
                    session.add(row)
                    changed += 1
    return changed


def drop_links(session: Session, customer: Customer, chat_id: int | None) -> None:
    """Ids that tie the customer to the outside: relayed-message links (a later edit of a staff reply
    in Slack would otherwise reach the erased chat) and a company nobody else belongs to (its name is
    often the person's own: "王伟工作室")."""
    from crm.models import Company, RelayedMessage

    tickets = select(Ticket.id).where(Ticket.customer_id == customer.id)
    interactions = select(Interaction.id).where(Interaction.customer_id == customer.id)
    condition = RelayedMessage.ticket_id.in_(tickets) | RelayedMessage.interaction_id.in_(interactions)
    if chat_id is not None:
        condition = condition | (RelayedMessage.telegram_chat_id == chat_id)
    session.exec(delete(RelayedMessage).where(condition))
    company_id, customer.company_id = customer.company_id, None
    session.add(customer)
    session.flush()
    if company_id is not None:
        others = session.exec(select(Customer.id).where(Customer.company_id == company_id).limit(1)).first()
        if others is None:
            session.exec(delete(Company).where(Company.id == company_id))


# ---- Slack threads (ids captured before the rows holding them go) ------------------------------

_SLACK_TS = re.compile(r"^\d{9,11}\.\d{6}$")


def slack_thread_messages(session: Session, customer_id: int) -> list[dict]:
    """Per ticket thread of the customer: the channel, the root card's ts and the ts of every other
    message the bot posted there (the customer's messages, notes). Staff's own replies are theirs."""
    from crm.models import RelayedMessage

    threads = []
    tickets = session.exec(select(Ticket).where(Ticket.customer_id == customer_id,
                                                col(Ticket.slack_thread_ts).is_not(None))).all()
    for ticket in tickets:
        channel, root = ticket.slack_channel, ticket.slack_thread_ts
        found: set[str] = set()
        for ts in session.exec(select(RelayedMessage.slack_ts).where(RelayedMessage.ticket_id == ticket.id,
                                                                     RelayedMessage.direction == "inbound",
                                                                     RelayedMessage.slack_channel == channel)).all():
            found.add(ts)
        files = False
        for result, payload in session.exec(select(InboxOutbox.result, InboxOutbox.payload).where(
                InboxOutbox.ticket_id == ticket.id, InboxOutbox.target == "slack")).all():
            if result and _SLACK_TS.match(result):
                found.add(result)
            if not files and '"media"' in (payload or ""):  # a file the customer sent, uploaded into the thread
                try:
                    files = bool(json.loads(payload).get("media"))
                except (ValueError, AttributeError):
                    pass
        found.discard(root)
        threads.append({"ticket_id": ticket.id, "channel": channel, "thread_ts": root,
                        "messages": sorted(found, key=float), "files": files})
    return threads


def queue_slack_deletions(session: Session, threads: list[dict]) -> list[InboxOutbox]:
    """One ``erase`` job per thread in the inbox outbox, in this transaction: it commits with the erasure
    and survives a restart; the relay claims it once (integrations/inbox_erasure.py)."""
    jobs = []
    for thread in threads:
        payload = {k: thread[k] for k in ("channel", "thread_ts", "messages", "files")}
        job = InboxOutbox(target="slack", kind="erase", payload=json.dumps(payload), ticket_id=thread["ticket_id"])
        session.add(job)
        jobs.append(job)
    if jobs:
        session.info["outbox_queued"] = True  # the caller wakes the sender after commit
    return jobs


# ---- indexes, caches, tombstones (inside the erasure's transaction) -----------------------------

def optimize_search_index(session: Session) -> None:
    """FTS5 keeps deleted terms in older segments until a merge: merge them all now (SQLite)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for table in FTS_TABLES:
        exists = session.execute(text("SELECT 1 FROM sqlite_master WHERE type='table' AND name=:t"),
                                 {"t": table}).first()
        if exists:
            session.execute(text(f"INSERT INTO {table}({table}) VALUES ('optimize')"))


def drop_insight_cache(session: Session) -> None:
    """The cached graph, similarity index and summaries hold the customer's words and links."""
    from crm.insights import store

    session.exec(delete(InsightBlob).where(~InsightBlob.key.startswith("lock:", autoescape=True)))
    store.drop_memory_copies()


def chat_key(platform: str, chat_id: int | str) -> str:
    return hashlib.sha256(f"crm-erased:{platform}:{chat_id}".encode()).hexdigest()


def remember_erased_chat(session: Session, platform: str, chat_id: int | None, at: datetime) -> None:
    if chat_id is None:
        return
    key = chat_key(platform, chat_id)
    row = session.get(ErasedChat, key)
    if row is None:
        session.add(ErasedChat(key=key, erased_at=at))
    else:
        row.erased_at = max(row.erased_at, at)
        session.add(row)


def erased_since(session: Session, platform: str, chat_id: int | str, sent_at: datetime) -> bool:
    """Whether this chat's customer was erased at or after ``sent_at`` (the message predates the erasure)."""
    row = session.get(ErasedChat, chat_key(platform, chat_id))
    if row is None:
        return False
    erased_at = row.erased_at
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=erased_at.tzinfo)
    return sent_at <= erased_at


# ---- after the commit: the raw store and the files ---------------------------------------------

def after_commit(session: Session, needles: list[str], customer_id: int) -> None:
    """Registers the work that must follow the commit of this session (and only if it commits)."""
    engine = session.get_bind()
    needles = list(needles)

    def done(_session) -> None:
        try:
            purge_files(customer_id, needles)
        except Exception:  # noqa: BLE001 - the erasure itself is committed; say what is left
            log.exception("erasure of customer %s: could not purge every file", customer_id)
        compact_store(engine)

    event.listen(session, "after_commit", done, once=True)


def compact_store(engine) -> None:
    """SQLite: WAL copied into the file and truncated to zero, so no old page version survives.
    PostgreSQL: the touched tables vacuumed, so dead tuples are not left on disk."""
    if engine.dialect.name == "sqlite":
        if not _checkpoint(engine):
            threading.Thread(target=_checkpoint_later, args=(engine,), daemon=True,
                             name="erasure-checkpoint").start()
    elif engine.dialect.name == "postgresql":
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in VACUUM_TABLES:
                    conn.exec_driver_sql(f"VACUUM {table}")
        except Exception:  # noqa: BLE001 - autovacuum will get there; the rows are already blank
            log.warning("erasure: VACUUM failed; autovacuum will reclaim the dead rows", exc_info=True)


CHECKPOINT_BUSY_MS = 200


def _checkpoint(engine) -> bool:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # TRUNCATE waits in the busy handler until every reader is done with the WAL; with the store's
        # 30 s busy_timeout a reader that waits on this very commit held the write (and the request that
        # erased) for 30 s. Try briefly instead: if readers remain, _checkpoint_later finishes the job.
        kept = cur.execute("PRAGMA busy_timeout").fetchone()[0]
        cur.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
        try:
            busy, _log, _done = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            cur.execute(f"PRAGMA busy_timeout={int(kept)}")  # the connection goes back to the pool
        cur.close()
        return busy == 0
    except Exception:  # noqa: BLE001
        log.warning("erasure: WAL checkpoint failed", exc_info=True)
        return False
    finally:
        raw.close()


def _checkpoint_later(engine, attempts: int = 60) -> None:
    for _ in range(attempts):  # readers still on an old snapshot: try again until they are done
        time.sleep(0.5)
        if _checkpoint(engine):
            return
    log.error("erasure: the WAL could not be truncated for 30 s; it is on the next checkpoint")


def purge_files(customer_id: int, needles: list[str]) -> list[Path]:
    """Deletes exports and chart pictures of the customer, or that mention them; returns what went.
    Graph and digest pictures draw names as pixels, so every one of them made before now goes."""
    removed = []
    encoded = [n.encode("utf-8") for n in needles] + [n.encode("utf-8").lower() for n in needles]
    for folder, always in ((export_dir(), (f"customer-{customer_id}-",)),
                           (chart_dir(), (f"graph-{customer_id}-", "graph-", "digest-"))):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not path.is_file():
                continue
            doomed = path.name.startswith(always)
            if not doomed and path.stat().st_size <= MAX_SCANNED_FILE:
                data = path.read_bytes()
                lowered = data.lower()
                doomed = any(n and (n in data or n in lowered) for n in encoded)
            if doomed:
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed

