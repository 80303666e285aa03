"""What operators scrape: ``GET /metrics`` in Prometheus' text format (prometheus-client).

Every ``App`` has its own ``CollectorRegistry`` (not the process-wide default), so tests and
tools can build several apps in one process without "Duplicated timeseries" errors.

Two kinds of figures:

* counters and histograms this process records as things happen (HTTP requests and their
  ack latency per route and platform, relay posts, retries and failures, scheduler sends,
  the insight job's duration). Prometheus sums them over instances.
* gauges read from the store at scrape time (outbox, command journal and reminder backlogs,
  the age of the oldest waiting row, the insights' age). Every instance reports the same
  store-wide figure, so alert on ``max`` of them, not ``sum``. The SQLite writer queue is
  this process's own.

Labels are closed sets (known routes, platforms, outcomes): a request for an unknown path is
counted under ``route="other"``, so nothing from outside can grow the number of series.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from crm.models import AcceptedCommand, InboxOutbox, InsightBlob, Task, TelegramInbound
from crm.types import utcnow

log = logging.getLogger("crm.metrics")

PLATFORM_OF_ROUTE = {"/slack/events": "slack", "/telegram/webhook": "telegram"}
# Slack gives up on an ack after 3 s, so the buckets are dense below it
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0)
JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
# Telegram's update kinds (https://core.telegram.org/bots/api#update): the label's closed set; anything else,
# or an update with several fields, is counted as "other"
TELEGRAM_UPDATE_KINDS = frozenset((
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "message_reaction",
    "message_reaction_count", "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost"))


class Metrics:
    """One app's metrics. Hooks elsewhere call the small ``record_*`` methods (cheap, thread-safe)."""

    def __init__(self, db=None, *, routes: list[str] | None = None, clock=None):
        self.db = db
        self.registry = CollectorRegistry(auto_describe=True)
        self._routes = set(routes or ())
        self._clock = clock or utcnow
        self._request_children: dict[tuple[str, int], tuple] = {}
        r = self.registry
        self.requests = Counter("crm_http_requests", "HTTP requests answered, by route, platform and status",
                                ["route", "platform", "status"], registry=r)
        self.request_seconds = Histogram("crm_http_request_duration_seconds",
                                         "Time from request received to response sent in full",
                                         ["route", "platform"], buckets=ACK_BUCKETS, registry=r)
        self.ack_seconds = Histogram("crm_ack_duration_seconds",
                                     "Time from a platform's request received to its acknowledgement (response "
                                     "headers) — Slack's limit is 3 s", ["platform"], buckets=ACK_BUCKETS, registry=r)
        self.relay_messages = Counter("crm_relay_messages", "Inbox outbox rows finished by the relay, by outcome "
                                      "(sent, retry, failed, blocked)", ["target", "outcome"], registry=r)
        self.relay_posts = Counter("crm_relay_posts", "Posts the relay made (several Slack rows may share one "
                                   "post when customers write faster than Slack's per-channel limit)",
                                   ["target"], registry=r)
        self.rate_limited = Counter("crm_rate_limited", "429 answers from a platform (Retry-After honoured)",
                                    ["platform", "method"], registry=r)
        self.scheduler_sends = Counter("crm_scheduler_sends", "Reminders, digests and overdue notices sent or "
                                       "failed (a failure is retried later)", ["job", "outcome"], registry=r)
        self.insight_job_seconds = Histogram("crm_insight_job_duration_seconds", "Duration of the insight job",
                                             buckets=JOB_BUCKETS, registry=r)
        self.insight_job_failures = Counter("crm_insight_job_failures", "Insight job runs that failed", registry=r)
        self.group_commit = Histogram("crm_group_commit_units", "Units of work (Telegram updates) committed together "
                                      "in one transaction", buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.telegram_unparseable = Counter(
            "crm_telegram_unparseable_updates", "Telegram updates python-telegram-bot could not parse, by update "
            "kind; each was acknowledged (a redelivery would fail the same way) and logged", ["kind"], registry=r)
        if db is not None:
            r.register(StoreCollector(db, self._clock))

    # ---- hooks -------------------------------------------------------------------------------
    def add_route(self, path: str) -> None:
        self._routes.add(path)

    def route_label(self, path: str) -> str:
        return path if path in self._routes else "other"

    def record_request(self, path: str, status: int, seconds: float, ack_seconds: float | None) -> None:
        children = self._request_children.get((path, status))
        if children is None:
            children = self._request_children_of(path, status)
        requests, duration, ack = children
        requests.inc()
        duration.observe(seconds)
        if ack_seconds is not None and ack is not None:
            ack.observe(ack_seconds)

    def _request_children_of(self, path: str, status: int) -> tuple:
        """The labelled series a request on ``path`` answered ``status`` counts in, looked up once (``labels``
        costs a lock and a tuple per call: a few µs on every webhook update, issue 17). Keyed by the raw path
        only for known routes, so the cache is as bounded as the labels."""
        route = self.route_label(path)
        platform = PLATFORM_OF_ROUTE.get(route, "none")
        children = (self.requests.labels(route, platform, str(status)), self.request_seconds.labels(route, platform),
                    self.ack_seconds.labels(platform) if platform != "none" else None)
        if route != "other" and len(self._request_children) < 10_000:
            self._request_children[(path, status)] = children
        return children

    def record_relay(self, target: str, outcome: str, rows: int = 1) -> None:
        self.relay_messages.labels(target, outcome).inc(rows)

    def record_post(self, target: str) -> None:
        self.relay_posts.labels(target).inc()

    def record_rate_limited(self, platform: str, method: str) -> None:
        self.rate_limited.labels(platform, method).inc()

    def record_unparseable(self, kind: str) -> None:
        self.telegram_unparseable.labels(kind if kind in TELEGRAM_UPDATE_KINDS else "other").inc()

    def observe_batch(self, units: int) -> None:
        self.group_commit.observe(units)

    def record_scheduled(self, job: str, sent: int, failed: int) -> None:
        job = job.replace(" ", "_")
        if sent:
            self.scheduler_sends.labels(job, "sent").inc(sent)
        if failed:
            self.scheduler_sends.labels(job, "failed").inc(failed)

    # ---- exposition --------------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def endpoint(self, request: Request) -> Response:
        # the store gauges query the database: off the event loop
        body = await asyncio.to_thread(self.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


class StoreCollector:
    """Backlogs read from the store at scrape time: the same figure from every instance."""

    def __init__(self, db, clock):
        self.db = db
        self.clock = clock

    def describe(self):
        return []  # collected lazily: describing must not query the store at registration

    def collect(self):
        up = GaugeMetricFamily("crm_store_up", "1 when the store answered the scrape's queries")
        try:
            families = self._store_families()
        except Exception:  # a broken store is itself the finding; the scrape still answers
            log.warning("metrics: store queries failed", exc_info=True)
            up.add_metric([], 0)
            families = []
        else:
            up.add_metric([], 1)
        yield up
        yield from families
        queue = GaugeMetricFamily("crm_sqlite_writer_queue", "Writes of this process waiting for SQLite's single "
                                  "writer, by lane (urgent: an ack is waiting)", labels=["lane"])
        waiting = self.db.writers_waiting()
        for lane in ("urgent", "normal"):
            queue.add_metric([lane], waiting.get(lane, 0))
        yield queue

    @staticmethod
    def _age(oldest, now: datetime | None = None) -> float:
        """Seconds since ``oldest`` (rows are stamped with the real UTC time, see crm.types.utcnow)."""
        if oldest is None:
            return 0.0
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        return max(0.0, ((now or utcnow()) - oldest).total_seconds())

    def _store_families(self) -> list:
        now = self.clock()  # the business clock decides what is due (as the scheduler does)
        with self.db.session() as s:
            outbox = s.exec(select(InboxOutbox.target, InboxOutbox.status, func.count(), func.min(InboxOutbox.created_at))
                            .where(col(InboxOutbox.status).in_(("pending", "sending", "failed")))
                            .group_by(InboxOutbox.target, InboxOutbox.status)).all()
            journal = s.exec(select(AcceptedCommand.platform, func.count(), func.min(AcceptedCommand.created_at))
                             .where(col(AcceptedCommand.answered_at).is_(None))
                             .group_by(AcceptedCommand.platform)).all()
            reminders = s.exec(select(func.count(), func.min(Task.due_at))
                               .where(Task.status == "open", Task.due_at <= now,
                                      col(Task.reminded_at).is_(None))).one()
            retrying = s.exec(select(func.count()).where(Task.status == "open", Task.reminder_attempts > 0,
                                                         col(Task.reminded_at).is_(None),
                                                         col(Task.last_error).is_not(None))).one()
            insights_at = s.exec(select(func.max(InsightBlob.computed_at))).one()
            inbound = s.exec(select(func.count(), func.min(TelegramInbound.received_at))
                             .where(col(TelegramInbound.processed_at).is_(None))).one()

        rows = GaugeMetricFamily("crm_outbox_rows", "Inbox outbox rows by target and status (store-wide)",
                                 labels=["target", "status"])
        oldest = GaugeMetricFamily("crm_outbox_oldest_pending_seconds", "Age of the oldest row waiting to be "
                                   "relayed (pending or sending), by target", labels=["target"])
        seen = {(t, st): (n, first) for t, st, n, first in outbox}
        for target in ("telegram", "slack"):
            waiting_since = []
            for status in ("pending", "sending", "failed"):
                n, first = seen.get((target, status), (0, None))
                rows.add_metric([target, status], n)
                if status != "failed" and first is not None:
                    waiting_since.append(first)
            oldest.add_metric([target], self._age(min(waiting_since)) if waiting_since else 0.0)

        unanswered = GaugeMetricFamily("crm_command_journal_unanswered", "Commands acknowledged but not yet "
                                       "answered (store-wide)", labels=["platform"])
        unanswered_age = GaugeMetricFamily("crm_command_journal_oldest_unanswered_seconds",
                                           "Age of the oldest acknowledged, unanswered command", labels=["platform"])
        by_platform = {p: (n, first) for p, n, first in journal}
        for platform in sorted(set(by_platform) | {"slack"}):
            n, first = by_platform.get(platform, (0, None))
            unanswered.add_metric([platform], n)
            unanswered_age.add_metric([platform], self._age(first))

        due_count, due_first = reminders
        backlog = GaugeMetricFamily("crm_reminders_due", "Reminders due and not yet sent (store-wide)")
        backlog.add_metric([], due_count or 0)
        late = GaugeMetricFamily("crm_reminders_oldest_due_seconds", "How late the most overdue unsent reminder is")
        late.add_metric([], self._age(due_first, now))
        failing = GaugeMetricFamily("crm_reminders_retrying", "Reminders whose last send failed, waiting to retry")
        failing.add_metric([], retrying or 0)
        insights = GaugeMetricFamily("crm_insights_age_seconds", "Seconds since the insight job last wrote its "
                                     "results (-1: never ran)")
        insights.add_metric([], self._age(insights_at) if insights_at is not None else -1)
        inbound_rows = GaugeMetricFamily("crm_telegram_inbound_unprocessed", "Telegram updates acknowledged (stored "
                                         "as they came) and not yet processed (store-wide)")
        inbound_rows.add_metric([], inbound[0] or 0)
        inbound_age = GaugeMetricFamily("crm_telegram_inbound_oldest_seconds", "Age of the oldest acknowledged, "
                                        "unprocessed Telegram update")
        inbound_age.add_metric([], self._age(inbound[1]))
        return [rows, oldest, unanswered, unanswered_age, backlog, late, failing, insights, inbound_rows, inbound_age]


class MetricsMiddleware:
    """Pure ASGI: counts every HTTP request and times it to its first response byte (the ack)
    and to its end. Pure ASGI rather than BaseHTTPMiddleware: no extra task per request."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 500, "ack": None}

        async def timed_send(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["ack"] = time.perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.metrics.record_request(scope.get("path", ""), state["status"], time.perf_counter() - started,
                                        state["ack"])


def metrics_of(app) -> Metrics | None:
    """The app's metrics, or None for stand-in apps that have none (scheduler and relay tests)."""
    return getattr(app, "metrics", None)
