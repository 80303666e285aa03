"""Sending campaigns: resumable, rate-limited, never the same message twice.

Guarantees, and how they are kept:

* **One sender in the fleet.** A runner sends only while it holds the ``campaign-sender`` row
  of ``worker_lease`` (renewed every third of its lifetime), so the rate limit below is the
  rate of the whole deployment, not of each instance.
* **Each recipient is claimed before it is sent.** Pending rows move to ``sending`` in batches,
  in one transaction (``UPDATE … WHERE status = 'pending'``), tagged with the run's claim id.
  A row another run claimed is never sent by this one.
* **The attempt is written before the Bot API call.** ``attempted_at`` commits just before the
  worker takes its rate token and calls ``sendMessage`` (each worker holds at most one such
  row, so a crash leaves at most ``workers`` of them), so after a crash a claimed row is either untouched (safe to send: it goes
  back to ``pending``) or *possibly sent*. Telegram has no idempotency key and no way to ask
  whether a message arrived, so a possibly-sent row is **not** sent again: it becomes
  ``unknown`` and the report counts it. A duplicate marketing message is worse than one the
  report admits it cannot vouch for. Errors that prove nothing was sent (429 RetryAfter, an
  error status from Telegram, a connection that never opened) clear ``attempted_at`` and retry.
* **≤ ``rate`` messages a second, overall.** One token bucket (capacity 1, so messages are
  evenly spaced) for every worker, plus a one-second sliding window over the moments requests
  start, so no second ever starts more than ``rate``; a RetryAfter pauses the whole bucket for the seconds
  Telegram asked, then the same recipient is tried again. The campaign bot has no PTB
  rate limiter of its own, so nothing waits twice.
* **Consent is checked at send time too.** A customer who says /stop (or blocks the bot, or is
  erased) after the campaign was confirmed is skipped when their row is claimed.

``CampaignRunner`` is the asyncio service the app starts; handlers call ``wake()`` after they
commit. It resumes unfinished campaigns on start.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from sqlalchemy import bindparam, func, update
from sqlmodel import col, select

from crm.campaigns.lifecycle import message_for
from crm.claims import Lease, backoff, claim_once
from crm.db import Database
from crm.models import Campaign, CampaignRecipient, Customer, WorkerLease
from crm.rate_limit import RateLimiter
from crm.types import UTCDateTime, utcnow

log = logging.getLogger("crm.campaigns")

LEASE_NAME = "campaign-sender"
TELEGRAM_RATE = 30.0  # messages a second: Telegram's limit for a bot's broadcasts
MAX_RATE_LIMITED = 10  # RetryAfter answers for one recipient before it is given up as failed
MAX_TRANSIENT = 4  # proven-unsent errors (5xx, no connection) for one recipient before it fails
INTERRUPTED = "interrupted while sending: Telegram may or may not have delivered it, so it was not resent"


# ---------------------------------------------------------------- what a messenger may raise


class SendError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:290]


class Blocked(SendError):
    """The user blocked the bot or deleted their account (Telegram's 403)."""


class Rejected(SendError):
    """Telegram refused this message for good (chat not found, text invalid…)."""


class NotSent(SendError):
    """Proven not delivered (an error status from Telegram, no connection): safe to retry."""


class OutcomeUnknown(SendError):
    """The request may have reached Telegram (a read timeout, a dropped connection)."""


class RetryLater(SendError):
    def __init__(self, seconds: float):
        super().__init__(f"rate limited by Telegram for {seconds:g} s")
        self.seconds = seconds


class Messenger(Protocol):
    async def start(self) -> None: ...

    async def send(self, chat_id: int, text: str) -> int:
        """Sends a plain-text message; returns Telegram's message id or raises a SendError."""

    async def close(self) -> None: ...


# ---------------------------------------------------------------- the store side (sync; run in threads)


@dataclass(frozen=True)
class Job:
    recipient_id: int
    customer_id: int
    chat_id: int
    text: str


def _worker_lease(seconds: float) -> Lease:
    return Lease(timedelta(seconds=seconds), expires=WorkerLease.expires_at, holder=WorkerLease.holder)


# The fleet lease measures whether the sending process is alive, so it runs on the wall clock
# (``utcnow``), not on the business clock the runner is given (tests fix that one).
def acquire_lease(db: Database, holder: str, seconds: float, name: str = LEASE_NAME) -> bool:
    """Takes or renews the lease; False while another holder's lease is alive."""
    now, lease = utcnow(), _worker_lease(seconds)
    with db.write_session() as s:
        if lease.take(s, (WorkerLease.name == name) & ((WorkerLease.holder == holder) | lease.lapsed(now)),
                      now=now, holder=holder) == 1:
            return True
        if s.get(WorkerLease, name) is not None:
            return False
        # the first holder ever: another instance may be creating the row at this moment
        return claim_once(s, WorkerLease(name=name, holder=holder, expires_at=now + lease.duration))


def release_lease(db: Database, holder: str, name: str = LEASE_NAME) -> None:
    with db.write_session() as s:
        _worker_lease(0).settle(s, (WorkerLease.name == name) & (WorkerLease.holder == holder),
                                values={"expires_at": utcnow() - timedelta(seconds=1)})


def recover_interrupted(db: Database) -> tuple[int, int]:
    """Rows left in ``sending`` by a run that is gone (the caller holds the lease).

    Never attempted: back to pending. Attempted: ``unknown`` — see the module docstring.
    Returns (requeued, unknown).
    """
    with db.write_session() as s:
        sending = (CampaignRecipient.status == "sending")
        requeued = s.exec(update(CampaignRecipient).where(sending, col(CampaignRecipient.attempted_at).is_(None))
                          .values(status="pending", claimed_by=None, claimed_at=None)).rowcount
        unknown = s.exec(update(CampaignRecipient).where(sending, col(CampaignRecipient.attempted_at).is_not(None))
                         .values(status="unknown", error=INTERRUPTED)).rowcount
    if requeued or unknown:
        log.warning("campaigns: recovered an interrupted send: %s requeued, %s of unknown outcome (not resent)",
                    requeued, unknown)
    return requeued or 0, unknown or 0


def due_campaigns(db: Database, now: datetime) -> tuple[list[int], datetime | None]:
    """Campaigns confirmed for sending whose start has come, and the next start still ahead."""
    with db.session() as s:
        rows = s.exec(select(Campaign.id, Campaign.starts_at).where(Campaign.status == "sending")
                      .order_by(col(Campaign.sent_at), col(Campaign.id))).all()
    due = [cid for cid, starts in rows if starts is None or starts <= now]
    later = [starts for cid, starts in rows if starts is not None and starts > now]
    return due, min(later) if later else None


def _unreachable_reason(customer: Customer | None) -> str | None:
    if customer is None or customer.forgotten_at is not None:
        return "the customer's data was erased"
    if customer.marketing_opt_out:
        return "the customer opted out of marketing (/stop) after the campaign was confirmed"
    if customer.telegram_blocked:
        return "the customer has blocked the bot"
    if customer.telegram_chat_id is None:
        return "the customer no longer has a Telegram chat"
    return None


def claim_batch(db: Database, campaign_id: int, claim: str, now: datetime, size: int) -> tuple[list[Job], int]:
    """Claims up to ``size`` pending rows in one transaction; returns (jobs to send, rows claimed).

    Rows whose customer may no longer be messaged are settled as ``skipped`` here. After the
    campaign's end nothing more goes out: what is left is skipped.
    """
    with db.write_session() as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.status != "sending":
            return [], 0
        pending = (CampaignRecipient.campaign_id == campaign_id) & (CampaignRecipient.status == "pending")
        if campaign.ends_at is not None and campaign.ends_at <= now:
            ended = s.exec(update(CampaignRecipient).where(pending).values(
                status="skipped", error="the campaign ended before this message could go out")).rowcount
            return [], ended or 0
        ids = s.exec(select(CampaignRecipient.id).where(pending).order_by(CampaignRecipient.id).limit(size)).all()
        if not ids:
            return [], 0
        s.exec(update(CampaignRecipient).where(col(CampaignRecipient.id).in_(ids), CampaignRecipient.status == "pending")
               .values(status="sending", claimed_by=claim, claimed_at=now))
        rows = s.exec(select(CampaignRecipient, Customer).join(Customer, Customer.id == CampaignRecipient.customer_id,
                                                               isouter=True)
                      .where(col(CampaignRecipient.id).in_(ids), CampaignRecipient.claimed_by == claim,
                             CampaignRecipient.status == "sending").order_by(CampaignRecipient.id)).all()
        jobs = []
        for recipient, customer in rows:
            reason = _unreachable_reason(customer)
            if reason:
                recipient.status, recipient.error = "skipped", reason
                s.add(recipient)
            else:
                jobs.append(Job(recipient.id, customer.id, customer.telegram_chat_id,
                                message_for(campaign, customer.language)))
        return jobs, len(rows)


# The hot path (two writes per message) uses Core statements compiled once: the ORM's
# per-statement bookkeeping cost more than the write itself.
_R = CampaignRecipient.__table__
_MARK = (_R.update().where(_R.c.id == bindparam("b_id"), _R.c.claimed_by == bindparam("b_claim"),
                           _R.c.status == "sending")
         .values(attempted_at=bindparam("b_now", type_=UTCDateTime()), attempts=_R.c.attempts + 1))
_CLEAR = (_R.update().where(_R.c.id == bindparam("b_id"), _R.c.claimed_by == bindparam("b_claim"))
          .values(attempted_at=None, error=bindparam("b_error")))
_SETTLE = (_R.update().where(_R.c.id == bindparam("b_id"), _R.c.claimed_by == bindparam("b_claim"))
           .values(status=bindparam("b_status"), telegram_message_id=bindparam("b_message"),
                   error=bindparam("b_error"), sent_at=bindparam("b_sent", type_=UTCDateTime())))
_C = Customer.__table__
_BLOCK = _C.update().where(_C.c.id == bindparam("b_id")).values(telegram_blocked=True)


def mark_attempt(db: Database, recipient_id: int, claim: str, now: datetime) -> bool:
    """Committed before the Bot API call; False when this run no longer owns the row."""
    with db.write_session() as s:
        return s.connection().execute(_MARK, {"b_id": recipient_id, "b_claim": claim, "b_now": now}).rowcount == 1


def clear_attempt(db: Database, recipient_id: int, claim: str, error: str) -> None:
    """Telegram proved the message was not sent: the row may be tried again."""
    with db.write_session() as s:
        s.connection().execute(_CLEAR, {"b_id": recipient_id, "b_claim": claim, "b_error": error[:300]})


def record_outcome(db: Database, job: Job, claim: str, status: str, now: datetime, *,
                   message_id: int | None = None, error: str | None = None) -> None:
    with db.write_session() as s:
        conn = s.connection()
        conn.execute(_SETTLE, {"b_id": job.recipient_id, "b_claim": claim, "b_status": status,
                               "b_message": message_id, "b_error": error[:300] if error else None,
                               "b_sent": now if status == "sent" else None})
        if status == "blocked":
            # later campaigns leave them out; the inbox clears the flag when they write again
            conn.execute(_BLOCK, {"b_id": job.customer_id})


def release_unattempted(db: Database, claim: str) -> int:
    """A clean stop: rows claimed but never tried go back to the queue."""
    with db.write_session() as s:
        return s.exec(update(CampaignRecipient).where(
            CampaignRecipient.claimed_by == claim, CampaignRecipient.status == "sending",
            col(CampaignRecipient.attempted_at).is_(None)).values(
            status="pending", claimed_by=None, claimed_at=None)).rowcount or 0


def finish_if_done(db: Database, campaign_id: int, now: datetime) -> bool:
    with db.write_session() as s:
        open_rows = s.exec(select(func.count()).select_from(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign_id,
            col(CampaignRecipient.status).in_(("pending", "sending")))).one()
        if open_rows:
            return False
        return s.exec(update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "sending")
                      .values(status="sent", finished_at=now)).rowcount == 1


# ---------------------------------------------------------------- the runner


class CampaignRunner:
    """The asyncio service that sends confirmed campaigns; one per process, one active per fleet."""

    def __init__(self, db: Database, messenger_factory: Callable[[], Messenger | Awaitable[Messenger]] | None, *,
                 clock: Callable[[], datetime] | None = None, instance: str | None = None,
                 rate: float = TELEGRAM_RATE, workers: int = 8, batch_size: int = 100,
                 lease_seconds: float = 30.0, poll_seconds: float = 30.0, retry_backoff: float = 1.0):
        self.db = db
        self.messenger_factory = messenger_factory
        self.clock = clock or utcnow
        self.instance = instance or f"runner-{uuid.uuid4().hex[:8]}"
        self.limiter = RateLimiter(rate)
        self.workers = max(1, workers)
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.retry_backoff = retry_backoff
        self.messenger: Messenger | None = None
        self.claim: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._lease_lost = False

    @property
    def enabled(self) -> bool:
        """False without Telegram: confirmed campaigns wait in the store until a bot runs."""
        return self.messenger_factory is not None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if not self.enabled or self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="campaign-runner")

    def wake(self) -> None:
        """Thread-safe: look for campaigns to send now (handlers call it after their commit)."""
        if self._loop is not None and self._wakeup is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wakeup.set)

    async def stop(self, timeout: float = 15.0) -> None:
        """Finishes the messages in flight, puts the untried ones back, releases the lease."""
        if not self.enabled:
            return
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except (asyncio.TimeoutError, Exception):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
            self._task = None
        if self.claim is not None:
            await asyncio.to_thread(release_unattempted, self.db, self.claim)
        await asyncio.to_thread(release_lease, self.db, self.instance)
        await self._close_messenger()

    async def _close_messenger(self) -> None:
        if self.messenger is not None:
            with contextlib.suppress(Exception):
                await self.messenger.close()
            self.messenger = None

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                delay = await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("campaigns: the send pass failed; trying again shortly")
                delay = min(self.poll_seconds, 5.0)
            if self._stopping:
                break
            if delay > 0:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for drops a cancellation coming with the wake
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wakeup.wait()

    async def _pass(self) -> float:
        """Sends every due campaign; returns how long to sleep before looking again."""
        due, next_start = await asyncio.to_thread(due_campaigns, self.db, self.clock())
        if not due:
            return self._until(next_start)
        if not await asyncio.to_thread(acquire_lease, self.db, self.instance, self.lease_seconds):
            return min(self.poll_seconds, self.lease_seconds)  # another instance is sending
        self._lease_lost = False
        self.claim = f"{self.instance}:{uuid.uuid4().hex[:12]}"
        heartbeat = asyncio.create_task(self._heartbeat(), name="campaign-lease")
        try:
            await asyncio.to_thread(recover_interrupted, self.db)
            if self.messenger is None:
                made = self.messenger_factory()
                self.messenger = await made if asyncio.iscoroutine(made) else made
                await self.messenger.start()
            due, next_start = await asyncio.to_thread(due_campaigns, self.db, self.clock())
            for campaign_id in due:
                if self._stopping or self._lease_lost:
                    break
                await self._send_campaign(campaign_id)
        finally:
            heartbeat.cancel()
        if self._stopping or self._lease_lost:
            return 0.0
        await asyncio.to_thread(release_lease, self.db, self.instance)
        return self._until(next_start)

    def _until(self, next_start: datetime | None) -> float:
        if next_start is None:
            return self.poll_seconds
        return max(0.5, min(self.poll_seconds, (next_start - self.clock()).total_seconds()))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not await asyncio.to_thread(acquire_lease, self.db, self.instance, self.lease_seconds):
                log.error("campaigns: lost the sender lease; stopping after the messages in flight")
                self._lease_lost = True
                return

    async def _send_campaign(self, campaign_id: int) -> None:
        log.info("campaigns: sending campaign %s", campaign_id)
        while not (self._stopping or self._lease_lost):
            jobs, claimed = await asyncio.to_thread(claim_batch, self.db, campaign_id, self.claim, self.clock(),
                                                    self.batch_size)
            if not claimed:
                break
            queue: asyncio.Queue[Job] = asyncio.Queue()
            for job in jobs:
                queue.put_nowait(job)
            await asyncio.gather(*(self._worker(queue) for _ in range(min(self.workers, len(jobs)))))
        if not (self._stopping or self._lease_lost):
            if await asyncio.to_thread(finish_if_done, self.db, campaign_id, self.clock()):
                log.info("campaigns: campaign %s finished", campaign_id)

    async def _worker(self, queue: asyncio.Queue) -> None:
        while not (self._stopping or self._lease_lost):
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await self._deliver(job)

    async def _deliver(self, job: Job) -> None:
        rate_limited = transient = 0
        while not (self._stopping or self._lease_lost):
            if not await asyncio.to_thread(mark_attempt, self.db, job.recipient_id, self.claim, self.clock()):
                return  # another run took the row over
            # the token last, so nothing (a slow write) stands between it and the request
            await self.limiter.acquire()
            try:
                message_id = await self.messenger.send(job.chat_id, job.text)
            except RetryLater as exc:
                await asyncio.to_thread(clear_attempt, self.db, job.recipient_id, self.claim, exc.reason)
                self.limiter.pause(exc.seconds)
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED:
                    await self._settle(job, "failed", error="Telegram kept rate-limiting this message")
                    return
                continue
            except NotSent as exc:
                await asyncio.to_thread(clear_attempt, self.db, job.recipient_id, self.claim, exc.reason)
                transient += 1
                if transient >= MAX_TRANSIENT:
                    await self._settle(job, "failed", error=exc.reason)
                    return
                await asyncio.sleep(backoff(transient, first=timedelta(seconds=self.retry_backoff),
                                            longest=timedelta(minutes=1)).total_seconds())
                continue
            except Blocked as exc:
                await self._settle(job, "blocked", error=exc.reason)
                return
            except Rejected as exc:
                await self._settle(job, "failed", error=exc.reason)
                return
            except OutcomeUnknown as exc:
                await self._settle(job, "unknown", error=f"{exc.reason}; not resent to avoid a duplicate")
                return
            except Exception as exc:  # a bug or an unexpected library error: the request may have gone out
                log.exception("campaigns: unexpected error sending to recipient %s", job.recipient_id)
                await self._settle(job, "unknown", error=f"unexpected error: {exc!r}"[:290])
                return
            await self._settle(job, "sent", message_id=message_id)
            return

    async def _settle(self, job: Job, status: str, **kw) -> None:
        await asyncio.to_thread(record_outcome, self.db, job, self.claim, status, self.clock(), **kw)
