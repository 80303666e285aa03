"""The nightly insight job (`crm-bot insights refresh`): graph metrics, communities, risk, next actions.

Reads the store with a few bulk queries (``crm.insights.snapshot``), computes everything in
numpy/scipy/scikit-learn, then writes ``customer_insight`` rows and ``insight_blob`` artefacts
in one short transaction. Commands only read what it wrote.
"""
from __future__ import annotations

import io
import json
import pickle
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy import sparse
from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection

from crm import message_reading
from crm.insights import centrality, store
from crm.insights.features import CHURNED, FEATURE_NAMES, TIER_VALUE, behaviour_features, text_matrix
from crm.insights.graph import RelationGraph, build_graph, staff_strengths
from crm.insights.priorities import comparable_deal_value, next_priorities, open_amounts_by_currency
from crm.insights.reasons import describe
from crm.insights.risk import MIN_LABELS, train_risk
from crm.insights.similar import similarity_index
from crm.insights.snapshot import DAY, Snapshot, fingerprint, load_snapshot, load_texts
from crm.models import CustomerInsight
from crm.types import utcnow

PEAK_KEY = "peak MiB"
CPU_KEY = "cpu s"
PARALLEL_FROM = 20_000  # customers; smaller stores are done in well under a second without forking
DECAY_WINDOW_DAYS = 90
TEXT_TERMS_KEPT = 16  # per customer in the similarity index: enough to explain, small to cache
CHUNK = 10_000


@dataclass
class JobReport:
    customers: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # this process's CPU seconds per stage
    summary: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    wall: float = 0.0

    @contextmanager
    def stage(self, name: str):
        started, cpu = time.perf_counter(), time.process_time()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

    def text(self) -> str:
        risk = self.summary.get("risk", {})
        wall = self.wall or time.perf_counter() - self.started
        lines = [f"Insights refreshed for {self.customers:,} customers in {wall:.1f} s."]
        if risk.get("source") == "model":
            auc = f", cross-validated ROC AUC {risk['auc_cv']:.2f}" if risk.get("auc_cv") is not None else ""
            sample = f" (fitted on a stratified sample of {risk['sample']:,})" if risk.get("sample") else ""
            lines.append(f"Risk: model trained on {risk['churned']:,} churned and {risk['stayed']:,} stayed "
                         f"customers{sample}{auc}.")
        elif risk:
            lines.append(f"Risk: heuristic (only {risk['churned']} churned / {risk['stayed']} stayed customers; "
                         f"a model needs {MIN_LABELS} of each).")
        lines.append(f"Graph: {self.summary.get('nodes', 0):,} account nodes, {self.summary.get('edges', 0):,} edges, "
                     f"{self.summary.get('communities', 0):,} communities, "
                     f"{self.summary.get('staff_edges', 0):,} staff–customer relationships.")
        lines.append("Stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))
        # on a machine shared with other work, wall time includes waiting for a core; CPU time does not
        lines.append("Stage CPU: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.cpu.items()))
        if self.summary.get("graph_worker_peak_mb"):
            lines.append(f"Graph worker process peak memory: {self.summary['graph_worker_peak_mb']} MiB"
                         + (f", CPU {self.summary['graph_worker_cpu_s']:.0f} s"
                            if self.summary.get("graph_worker_cpu_s") is not None else "") + ".")
        return "\n".join(lines)


def refresh_insights(db, now: datetime | None = None, *, currency: str = "USD",
                     rates: dict[str, float] | None = None) -> str:
    """Recompute and store every insight; returns a printable summary with stage timings.

    ``currency`` and ``rates`` are the business's (CRM_CURRENCY, CRM_CURRENCY_RATES): rankings weigh
    deals across currencies with them (``priorities.comparable_deal_value``)."""
    engine = getattr(db, "engine", db)
    report = JobReport()
    with engine.connect() as conn:
        result = compute(conn, now or utcnow(), report, currency=currency, rates=rates)
    report.summary = result.summary
    with report.stage("write"):
        with engine.begin() as conn:
            write(conn, result)
    report.wall = time.perf_counter() - report.started
    return report.text()


def refresh_in(conn: Connection, now: datetime, *, currency: str = "USD",
               rates: dict[str, float] | None = None) -> JobReport:
    """Compute and write within the caller's transaction (small stores, computed on demand)."""
    report = JobReport()
    result = compute(conn, now, report, currency=currency, rates=rates)
    report.summary = result.summary
    with report.stage("write"):
        write(conn, result)
    return report


def node_keys(graph: RelationGraph) -> np.ndarray:
    """A stable key per account node (customers even, companies odd): sampling hashes these, not positions."""
    return np.concatenate([graph.customer_ids.astype(np.int64) * 2, graph.company_ids.astype(np.int64) * 2 + 1])


def graph_metrics(adjacency, keys: np.ndarray | None = None, salt: int = 0
                  ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, dict], dict[str, float]]:
    """PageRank and communities (igraph), betweenness (igraph exact, or sampled shortest paths on large graphs);
    ``keys`` (stable per node) make the sampled estimate independent of positions and unlinked nodes."""
    times = {}
    started = time.perf_counter()
    g = centrality.to_igraph(adjacency)
    pr = centrality.pagerank(adjacency, graph=g)
    times["pagerank"] = time.perf_counter() - started
    started = time.perf_counter()
    if keys is None:
        keys = np.arange(adjacency.shape[0], dtype=np.int64)
    between, method, between_info = centrality.connector_betweenness(adjacency, keys, seed=7 + salt, graph=g)
    times["betweenness"] = time.perf_counter() - started
    started = time.perf_counter()
    found = centrality.detect_communities(adjacency, graph=g)
    times["communities"] = time.perf_counter() - started
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    times[PEAK_KEY] = usage.ru_maxrss / 1024
    times[CPU_KEY] = usage.ru_utime + usage.ru_stime  # the worker's CPU seconds (its own process)
    info = dict(betweenness_method=method, modularity=[round(q, 4) for q in found.modularity], **between_info)
    return (pr, between, found.labels, info), times


def _worker_pool():
    """One worker process for the graph metrics. Not a plain fork: the nightly job runs in a thread of
    the server, and forking a threaded process can inherit a held lock; the forkserver is clean."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    method = "forkserver" if "forkserver" in methods else "spawn"
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(method))


@dataclass
class JobResult:
    now: datetime
    rows: list[dict]
    blobs: dict[str, bytes]
    summary: dict


def compute(conn: Connection, now: datetime, report: JobReport, *, currency: str = "USD",
            rates: dict[str, float] | None = None) -> JobResult:
    with report.stage("load"):
        stamp = fingerprint(conn)  # before reading: a change made meanwhile makes the next check stale
        snap = load_snapshot(conn, now)
        feedback = [(int(s), a, k or "") for s, a, k in conn.exec_driver_sql(
            "SELECT staff_id, action, reason_kinds FROM recommendation_feedback").fetchall()]
    report.customers = snap.n_customers
    with report.stage("strengths"):
        edges_now = staff_strengths(snap)
        edges_then = staff_strengths(snap, at=snap.now - DECAY_WINDOW_DAYS * DAY)
    with report.stage("graph"):
        graph = build_graph(snap, edges_now)
    # the graph metrics (numpy/scipy) run in another process while this one does text and models:
    # two cores, two independent halves of the job
    pool = _worker_pool() if snap.n_customers >= PARALLEL_FROM else None
    keys = node_keys(graph)
    pending = pool.submit(graph_metrics, graph.adjacency, keys) if pool else None
    if pending is None:
        metrics, metric_times = graph_metrics(graph.adjacency, keys)
    with report.stage("texts"):
        ref = snap.reference_time()
        docs = load_texts(conn, snap.customer_ids)
        vectorizer, texts = text_matrix(docs)
        vocabulary = vectorizer.get_feature_names_out().tolist() if vectorizer is not None else []
        del docs
    with report.stage("features"):
        feat = behaviour_features(snap, ref)
        feat.deal_value = comparable_deal_value(snap, feat, currency, rates)
    with report.stage("risk model"):
        risk = train_risk(feat, texts, vocabulary, snap.stage)
    with report.stage("similarity index"):
        behaviour, text_index = similarity_index(feat, _keep_top_terms(texts, TEXT_TERMS_KEPT), risk.risk)
    with report.stage("next actions"):
        prio = next_priorities(snap, feat, risk.risk, feedback)
    if pending is not None:
        with report.stage("wait for graph metrics"):
            metrics, metric_times = pending.result()
        pool.shutdown()
    graph.pagerank, graph.betweenness, graph.community, metric_info = metrics
    worker_peak = metric_times.pop(PEAK_KEY)
    worker_cpu = metric_times.pop(CPU_KEY)
    for name, seconds in metric_times.items():
        report.timings[name + (" (parallel)" if pending is not None else "")] = seconds
    with report.stage("graph findings"):
        findings = graph_findings(snap, graph, edges_now, edges_then, feat, risk.risk)

    n = snap.n_customers
    rows = []
    with report.stage("rows"):
        reasons_json = _ReasonsJSON()
        for i in range(n):
            rows.append(dict(
                customer_id=int(snap.customer_ids[i]), risk=float(risk.risk[i]),
                risk_reasons=reasons_json(risk.reasons[i]),
                community=int(graph.community[i]), pagerank=float(graph.pagerank[i]),
                betweenness=float(graph.betweenness[i]),
                priority=float(prio.score[i]) if prio.score[i] > 0 else None,
                priority_reasons=reasons_json(prio.reasons[i]),
                computed_at=now))
    summary = dict(
        computed_at=now.isoformat(), customers=n, nodes=graph.n_nodes, edges=int(graph.adjacency.nnz // 2),
        staff_edges=int(len(edges_now.strength)), communities=int(len(np.unique(graph.community[:n]))) if n else 0,
        risk=dict(source=risk.source, churned=risk.churned, stayed=risk.stayed, auc_cv=risk.auc_cv,
                  min_labels=MIN_LABELS, coefficients=risk.detail.get("coefficients", {}),
                  sample=risk.detail.get("sample")),
        feedback_answers=len(feedback), fingerprint=stamp, **metric_info,
        graph_worker_peak_mb=round(worker_peak) if pending is not None else None,
        graph_worker_cpu_s=round(worker_cpu, 1) if pending is not None else None,
        **findings)
    blobs = {
        store.GRAPH: graph.to_bytes(),
        store.SIMILAR: _similar_bytes(snap, behaviour, text_index, vocabulary, feat, graph.community[:n]),
    }
    if risk.model is not None:
        blobs[store.CHURN_MODEL] = pickle.dumps(dict(model=risk.model, vectorizer=vectorizer,
                                                     features=FEATURE_NAMES), protocol=5)
    return JobResult(now, rows, blobs, summary)


def _frozen(value):
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in sorted(value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


class _ReasonsJSON:
    """A customer's reasons as stored: JSON with each reason's phrase. The phrases go through Babel's
    number and money formats (~0.15 ms each; 5 minutes at a million customers), and customers share far
    fewer distinct reasons ("no contact in 63 days"): each distinct one is described once per run."""

    def __init__(self):
        self.phrases: dict = {}

    def __call__(self, reasons: list[dict]) -> str:
        if not reasons:
            return "[]"
        items = []
        for r in reasons:
            key = _frozen(r)
            phrase = self.phrases.get(key)
            if phrase is None:
                phrase = self.phrases[key] = describe(r)
            items.append(r | {"text": phrase})
        return json.dumps(items, ensure_ascii=False)


def write(conn: Connection, result: JobResult) -> None:
    result.summary.setdefault("timings", {})
    conn.execute(delete(CustomerInsight))
    for i in range(0, len(result.rows), CHUNK):
        conn.execute(insert(CustomerInsight.__table__), result.rows[i:i + CHUNK])
    message_reading.apply_signals(conn, result.now)  # complaints and cancellation signals stay in the risk
    blobs = dict(result.blobs)
    blobs[store.SUMMARY] = store.json_blob(result.summary)
    store.write_blobs(conn, blobs, result.now)


def _keep_top_terms(texts: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Each row's strongest terms only, renormalised: the index stays small and similarity barely moves."""
    texts = texts.tocsr()
    if texts.shape[1] == 0:
        return texts
    counts = np.diff(texts.indptr)
    if counts.max(initial=0) <= keep:
        return texts
    rows, cols, vals = [], [], []
    for i in range(texts.shape[0]):
        a, b = texts.indptr[i], texts.indptr[i + 1]
        data, idx = texts.data[a:b], texts.indices[a:b]
        if b - a > keep:
            top = np.argpartition(-data, keep - 1)[:keep]
            data, idx = data[top], idx[top]
        norm = np.sqrt((data.astype(np.float64) ** 2).sum())
        rows.append(np.full(len(idx), i))
        cols.append(idx)
        vals.append(data / norm if norm > 0 else data)
    out = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=texts.shape, dtype=np.float32)
    out.sort_indices()
    return out


def _similar_bytes(snap: Snapshot, behaviour, texts, vocabulary, feat, community) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, customer_ids=snap.customer_ids, behaviour=behaviour, t_data=texts.data, t_indices=texts.indices,
             t_indptr=texts.indptr, t_shape=np.array(texts.shape), vocabulary=np.array(vocabulary, dtype=object),
             raw=feat.raw.astype(np.float32), stalled_stage=feat.stalled_stage, community=community,
             stage=snap.stage, allow_pickle=True)
    return buf.getvalue()


def graph_findings(snap: Snapshot, graph: RelationGraph, edges_now, edges_then, feat, risk) -> dict:
    """Connectors, brokers, clusters, single-threaded accounts and decaying relationships (ids and numbers)."""
    n = snap.n_customers
    adjacency = graph.adjacency
    community = graph.community
    between = graph.betweenness[:n]
    # neighbours' communities: how many clusters a customer touches, and how evenly (participation)
    coo = adjacency.tocoo()
    customer_rows = coo.row < n
    r, c, w = coo.row[customer_rows], community[coo.col[customer_rows]], coo.data[customer_rows]
    key = r.astype(np.int64) * (community.max() + 1) + c
    keys, inverse = np.unique(key, return_inverse=True)
    per = np.bincount(inverse, weights=w)
    node = keys // (community.max() + 1)
    strength = np.bincount(node, weights=per, minlength=n)
    share_sq = np.bincount(node, weights=per ** 2, minlength=n) / np.where(strength > 0, strength, 1) ** 2
    participation = np.where(strength > 0, 1 - share_sq, 0.0)
    clusters_linked = np.bincount(node, minlength=n)
    degree = np.diff(adjacency.indptr)[:n]
    # ranks among customers: ties share a rank; "top X%" is rank / customers, so the 1st of 15 is the top 6.7%
    rank = centrality.competition_rank(between)
    pagerank_ratio = graph.pagerank[:n] * graph.n_nodes  # 1.0 is the average account

    def person(i: int) -> dict:
        return dict(customer_id=int(snap.customer_ids[i]), betweenness=float(between[i]),
                    pagerank=float(graph.pagerank[i]), pagerank_ratio=round(float(pagerank_ratio[i]), 2),
                    rank=int(rank[i]), of=int(n), top_percent=round(100.0 * float(rank[i]) / max(1, n), 4),
                    links=int(degree[i]), clusters_linked=int(clusters_linked[i]),
                    participation=round(float(participation[i]), 2), community=int(community[i]))

    # ties broken by the customer id, so the list does not depend on positions
    order = np.lexsort((snap.customer_ids, rank))
    connectors = [person(int(i)) for i in order[:20] if between[i] > 0]
    broker_score = between * participation
    broker_order = np.lexsort((snap.customer_ids, -np.round(broker_score, 15)))
    brokers = [person(int(i)) for i in broker_order[:20] if broker_score[i] > 0]

    # clusters of related accounts
    sizes = np.bincount(community[:n], minlength=community.max() + 1) if n else np.zeros(0, dtype=int)
    value = feat.deal_value if feat.deal_value is not None else feat.deal_amount
    per_currency = open_amounts_by_currency(snap, feat)
    clusters = []
    for k in np.argsort(-sizes)[:20]:
        members = np.nonzero(community[:n] == k)[0]
        if len(members) < 3:
            break
        companies = snap.company_of[members]
        companies = companies[companies >= 0]
        top_companies = [int(snap.company_ids[x]) for x in np.bincount(companies).argsort()[::-1][:3]] \
            if len(companies) else []
        hub = members[np.argmax(graph.pagerank[members])]
        clusters.append(dict(community=int(k), size=int(len(members)), companies=top_companies,
                             hub_customer_id=int(snap.customer_ids[hub]), open_deal_value=float(value[members].sum()),
                             open_deal_amounts=_sum_amounts(per_currency, members),
                             mean_risk=round(float(risk[members].mean()), 3),
                             churned=int((snap.stage[members] == CHURNED).sum())))

    return dict(connectors=connectors, brokers=brokers, clusters=clusters,
                single_threaded=single_threaded(snap, edges_now, feat),
                decaying=decaying(snap, edges_now, edges_then, feat))


THREAD_MIN_STRENGTH = 0.15


def _sum_amounts(per_currency: dict[int, dict[str, float]], members) -> dict[str, float]:
    """Open deal amounts of these customer positions, per currency (what people are shown, never summed
    across currencies; ``value`` stays a ranking weight)."""
    total: dict[str, float] = {}
    for i in members:
        for currency, amount in per_currency.get(int(i), {}).items():
            total[currency] = total.get(currency, 0.0) + amount
    return total


def single_threaded(snap: Snapshot, edges, feat, limit: int = 100) -> list[dict]:
    """Valuable companies that hang on one staff member or one contact."""
    money = feat.deal_value if feat.deal_value is not None else feat.deal_amount
    value = money + TIER_VALUE[snap.tier.astype(int)] * 5_000 * (snap.tier >= 2)
    live = snap.stage != CHURNED
    strong = edges.strength >= THREAD_MIN_STRENGTH
    e_staff, e_cust, e_strength = edges.staff[strong], edges.customer[strong], edges.strength[strong]
    company = snap.company_of[e_cust]
    at_company = (company >= 0) & live[e_cust]
    out = []
    if not at_company.any():
        return out
    comp_value = np.bincount(snap.company_of[(snap.company_of >= 0) & live],
                             weights=value[(snap.company_of >= 0) & live], minlength=len(snap.company_ids))
    contacts = np.bincount(snap.company_of[(snap.company_of >= 0) & live], minlength=len(snap.company_ids))
    pairs = np.unique(np.column_stack([company[at_company], e_staff[at_company]]), axis=0)
    threads = np.bincount(pairs[:, 0], minlength=len(snap.company_ids))
    reached = np.unique(np.column_stack([company[at_company], e_cust[at_company]]), axis=0)
    reached_contacts = np.bincount(reached[:, 0], minlength=len(snap.company_ids))
    per_currency = open_amounts_by_currency(snap, feat)
    candidates = np.nonzero((comp_value >= 20_000) & ((threads == 1) | (reached_contacts == 1)))[0]
    for k in candidates[np.argsort(-comp_value[candidates])][:limit]:
        mask = at_company & (company == k)
        best = np.argmax(np.where(mask, e_strength, -1))
        members = np.flatnonzero((snap.company_of == k) & live)
        out.append(dict(company_id=int(snap.company_ids[k]), value=float(comp_value[k]),
                        deal_amounts=_sum_amounts(per_currency, members), contacts=int(contacts[k]),
                        staff_threads=int(threads[k]), reached_contacts=int(reached_contacts[k]),
                        staff_id=int(snap.staff_ids[e_staff[best]]), customer_id=int(snap.customer_ids[e_cust[best]]),
                        strength=round(float(e_strength[best]), 2)))
    return out


def decaying(snap: Snapshot, now_edges, then_edges, feat, limit: int = 300) -> list[dict]:
    """Staff–customer relationships that were strong 90 days ago and have since faded to half or less."""
    n_staff = max(1, len(snap.staff_ids))
    key_then = then_edges.customer.astype(np.int64) * n_staff + then_edges.staff
    key_now = now_edges.customer.astype(np.int64) * n_staff + now_edges.staff
    pos = np.searchsorted(key_now, key_then)
    pos = np.minimum(pos, max(0, len(key_now) - 1))
    found = (len(key_now) > 0) & (key_now[pos] == key_then) if len(key_now) else np.zeros(len(key_then), bool)
    strength_now = np.where(found, now_edges.strength[pos] if len(key_now) else 0.0, 0.0)
    last = np.where(found, now_edges.last_at[pos] if len(key_now) else -np.inf, then_edges.last_at)
    live = snap.stage[then_edges.customer] != CHURNED
    fading = live & (then_edges.strength >= 0.35) & (strength_now <= 0.5 * then_edges.strength)
    idx = np.nonzero(fading)[0]
    weight = (then_edges.strength[idx] - strength_now[idx]) * \
        TIER_VALUE[snap.tier[then_edges.customer[idx]].astype(int)]
    out = []
    for j in idx[np.argsort(-weight)][:limit]:
        out.append(dict(staff_id=int(snap.staff_ids[then_edges.staff[j]]),
                        customer_id=int(snap.customer_ids[then_edges.customer[j]]),
                        then=round(float(then_edges.strength[j]), 2), now=round(float(strength_now[j]), 2),
                        last_at=float(last[j])))
    return out
