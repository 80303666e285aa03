"""What the insight commands share: getting the cached results, or saying why there are none.

Small stores (up to ``SMALL_STORE`` customers) are computed on demand, in the command's own
transaction, in well under a second, and again whenever they are stale: something changed since
the last run (``fingerprint``), or the run is older than ``FRESH_FOR``. Larger ones only ever read
what the nightly job wrote, so no command trains a model inside Slack's three seconds.
"""
from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

import numpy as np
from scipy import sparse
from sqlalchemy import func
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot.errors import UserError
from bot.replies import Reply
from crm.insights import store
from crm.insights.graph import RelationGraph, build_graph
from crm.insights.snapshot import fingerprint, load_snapshot
from crm.models import Customer

SMALL_STORE = 2_000
FRESH_FOR = timedelta(hours=1)  # small stores: recomputed at most this long after their last run
log = logging.getLogger("crm.insights")


def customer_count(ctx) -> int:
    """Live customers, counted up to ``SMALL_STORE + 1``: all any caller asks is whether the store is
    small, and counting a 1,000,000-customer store read the whole table (~200 ms) on every insight
    command while its insights were not computed yet."""
    live = select(Customer.id).where(col(Customer.forgotten_at).is_(None)).limit(SMALL_STORE + 1).subquery()
    return ctx.session.exec(select(func.count()).select_from(live)).one()


def not_ready(ctx) -> UserError:
    return UserError(ctx.t("Insights have not been computed for this store yet. They are refreshed nightly; "
                           "an admin can compute them now with `crm-bot insights refresh`."))


def added_since_refresh(ctx, name: str, what: str) -> Reply:
    """For a customer newer than the cached insights: when ``what`` (already in the reader's language) will be there."""
    return Reply(text=ctx.t("{name} was added after the last insight refresh; {what} after the next one "
                            "(nightly, or `crm-bot insights refresh`).",
                            name=name, what=what))


def is_stale(ctx, summary: dict) -> bool:
    computed = datetime.fromisoformat(summary["computed_at"])
    if ctx.now - computed >= FRESH_FOR:
        return True
    return summary.get("fingerprint") != fingerprint(ctx.session.connection())


def ensure_insights(ctx) -> dict:
    """The job's summary; computed here first when the store is small and has never been computed,
    or is stale (changed since, or older than an hour)."""
    summary = store.summary(ctx.session)
    if summary is not None and (summary.get("customers", 0) > SMALL_STORE or not is_stale(ctx, summary)):
        return summary
    if summary is None and customer_count(ctx) > SMALL_STORE:
        raise not_ready(ctx)
    if summary is not None and customer_count(ctx) > SMALL_STORE:
        return summary  # grew past small since: the nightly job keeps it from now on
    from crm.insights.job import refresh_in

    try:
        with ctx.session.begin_nested():  # a concurrent refresh wins; this command reads its result
            refresh_in(ctx.session.connection(), ctx.now, currency=ctx.settings.crm_currency,
                       rates=ctx.settings.currency_rates)
    except DBAPIError:
        log.warning("on-demand insight refresh lost to a concurrent one; using the stored insights", exc_info=True)
    summary = store.summary(ctx.session)
    if summary is None:
        raise not_ready(ctx)
    return summary


def relation_graph(ctx) -> RelationGraph:
    """Small stores: built now from the store (always current). Larger: the nightly job's graph."""
    summary = store.summary(ctx.session)
    size = summary["customers"] if summary is not None else customer_count(ctx)
    if size <= SMALL_STORE:
        ensure_insights(ctx)  # communities and the rest current, like the graph built below
        snap = load_snapshot(ctx.session.connection(), ctx.now)
        graph = build_graph(snap)
        cached = store.cached(ctx.session, store.GRAPH, RelationGraph.from_bytes)
        if cached is not None and cached.community is not None and len(cached.customer_ids) == len(graph.customer_ids) \
                and (cached.customer_ids == graph.customer_ids).all():
            graph.community = cached.community
        return graph
    graph = store.cached(ctx.session, store.GRAPH, RelationGraph.from_bytes)
    if graph is None:
        raise not_ready(ctx)
    return graph


class SimilarIndex:
    def __init__(self, payload: bytes):
        z = np.load(io.BytesIO(payload), allow_pickle=True)
        self.customer_ids = z["customer_ids"]
        self.behaviour = z["behaviour"]
        self.texts = sparse.csr_matrix((z["t_data"], z["t_indices"], z["t_indptr"]), shape=tuple(z["t_shape"]))
        self.vocabulary = list(z["vocabulary"])
        self.raw = z["raw"]
        self.stalled_stage = z["stalled_stage"]
        self.community = z["community"]
        self.stage = z["stage"]

    def position(self, customer_id: int) -> int | None:
        i = int(np.searchsorted(self.customer_ids, customer_id))
        return i if i < len(self.customer_ids) and self.customer_ids[i] == customer_id else None


def similar_index(ctx) -> SimilarIndex:
    ensure_insights(ctx)
    index = store.cached(ctx.session, store.SIMILAR, SimilarIndex)
    if index is None:
        raise not_ready(ctx)
    return index
