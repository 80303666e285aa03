"""What the models see of each customer: behaviour features (days, counts, amounts) and conversation text.

Shared by the churn-risk model (``crm.insights.risk``), similar customers (``crm.insights.similar``)
and `/crm next` (``crm.insights.priorities``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from crm.insights.snapshot import DAY, DEAL_STAGES, INBOUND, INTERNAL, KINDS, STAGES, Snapshot

OPEN_DEALS = [DEAL_STAGES.index(s) for s in ("lead", "qualified", "proposal", "negotiation")]
LATE_DEALS = [DEAL_STAGES.index(s) for s in ("proposal", "negotiation")]
CADENCE_DAYS = np.array([45.0, 30.0, 21.0, 14.0])  # standard, silver, gold, vip: expected contact rhythm
TIER_VALUE = np.array([1.0, 1.5, 2.5, 4.0])
CHURNED = STAGES.index("churned")

FEATURES = [
    # name, used by the churn model, used for similarity
    ("days_since_contact", True, True),
    ("days_since_reply", True, False),
    ("touches_90d", True, True),
    ("reply_share_90d", True, True),
    ("telegram_messages_90d", True, True),
    ("open_tickets", True, True),
    ("oldest_open_ticket_days", True, False),
    ("bad_ratings_180d", True, True),
    ("stalled_deal_days", True, True),
    ("open_deal_value", True, True),
    ("lost_deals", True, False),
    ("tier", True, True),
    ("relationships", False, True),
    ("tenure_days", False, True),
]
FEATURE_NAMES = [f[0] for f in FEATURES]
CHURN_COLUMNS = [i for i, f in enumerate(FEATURES) if f[1]]
SIMILAR_COLUMNS = [i for i, f in enumerate(FEATURES) if f[2]]
COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


@dataclass
class Features:
    raw: np.ndarray  # n x len(FEATURES), human units (days, counts, dollars)
    model: np.ndarray  # the same, log-compressed for models
    stalled_stage: np.ndarray  # deal stage index of the most stalled open deal, -1 none
    deal_amount: np.ndarray  # open deal amount, all currencies added up: a size for the models, never shown
    open_deals: np.ndarray | None = None  # bool per deal of the snapshot: open at the customer's reference time
    # open deals in units of the business currency, comparable across currencies (``comparable_deal_value``
    # in crm.insights.priorities): what rankings weigh; None until the job sets it, then ``deal_amount``
    deal_value: np.ndarray | None = None


def behaviour_features(snap: Snapshot, ref: np.ndarray) -> Features:
    """Per customer, what its history looked like at ``ref`` (epoch seconds per customer)."""
    n = snap.n_customers
    raw = np.zeros((n, len(FEATURES)))
    c, at = snap.i_customer, snap.i_at
    before = at <= ref[c]
    contact = before & (snap.i_direction != INTERNAL)
    last = np.full(n, -np.inf)
    np.maximum.at(last, c[contact], at[contact])
    last = np.where(np.isfinite(last), last, snap.created_at)
    raw[:, COL["days_since_contact"]] = np.clip((ref - last) / DAY, 0, 365)
    reply = contact & (snap.i_direction == INBOUND)
    last_in = np.full(n, -np.inf)
    np.maximum.at(last_in, c[reply], at[reply])
    last_in = np.where(np.isfinite(last_in), last_in, snap.created_at)
    raw[:, COL["days_since_reply"]] = np.clip((ref - last_in) / DAY, 0, 365)
    recent = contact & (at > ref[c] - 90 * DAY)
    touches = np.bincount(c[recent], minlength=n).astype(float)
    replies = np.bincount(c[recent & (snap.i_direction == INBOUND)], minlength=n)
    raw[:, COL["touches_90d"]] = touches
    raw[:, COL["reply_share_90d"]] = np.where(touches > 0, replies / np.maximum(touches, 1), 0.0)
    tg = recent & (snap.i_kind == KINDS.index("message"))
    raw[:, COL["telegram_messages_90d"]] = np.bincount(c[tg], minlength=n)

    tc = snap.t_customer
    opened = snap.t_opened <= ref[tc]
    still_open = opened & (snap.t_open | (snap.t_resolved > ref[tc]))
    raw[:, COL["open_tickets"]] = np.bincount(tc[still_open], minlength=n)
    oldest = np.zeros(n)
    np.maximum.at(oldest, tc[still_open], (ref[tc] - snap.t_opened)[still_open] / DAY)
    raw[:, COL["oldest_open_ticket_days"]] = oldest
    rated = ~snap.t_open & ~np.isnan(snap.t_rating) & (snap.t_resolved <= ref[tc]) \
        & (snap.t_resolved > ref[tc] - 180 * DAY)
    bad = rated & (snap.t_rating <= 2)
    raw[:, COL["bad_ratings_180d"]] = np.bincount(tc[bad], minlength=n)

    dc = snap.d_customer
    started = snap.d_changed <= ref[dc]
    open_then = started & (np.isin(snap.d_stage, OPEN_DEALS) | (snap.d_closed > ref[dc]))
    stalled_days = np.where(open_then & np.isin(snap.d_stage, LATE_DEALS), (ref[dc] - snap.d_changed) / DAY, 0.0)
    stalled = np.zeros(n)
    np.maximum.at(stalled, dc, stalled_days)
    raw[:, COL["stalled_deal_days"]] = stalled
    stalled_stage = np.full(n, -1, dtype=np.int8)
    order = np.argsort(stalled_days)  # the most stalled deal is written last
    has = stalled_days[order] > 0
    stalled_stage[dc[order][has]] = snap.d_stage[order][has]
    amount = np.bincount(dc[open_then], weights=snap.d_amount[open_then], minlength=n)
    raw[:, COL["open_deal_value"]] = amount
    lost = started & (snap.d_stage == DEAL_STAGES.index("lost"))
    raw[:, COL["lost_deals"]] = np.bincount(dc[lost], minlength=n)
    raw[:, COL["tier"]] = snap.tier
    raw[:, COL["relationships"]] = np.bincount(snap.rel_a, minlength=n) + np.bincount(snap.rel_b, minlength=n)
    raw[:, COL["tenure_days"]] = np.clip((ref - snap.created_at) / DAY, 0, 3650)

    model = raw.copy()
    for name in ("days_since_contact", "days_since_reply", "touches_90d", "telegram_messages_90d",
                 "oldest_open_ticket_days", "stalled_deal_days", "relationships", "tenure_days"):
        model[:, COL[name]] = np.log1p(raw[:, COL[name]])
    model[:, COL["open_deal_value"]] = np.log1p(raw[:, COL["open_deal_value"]] / 1000.0)
    return Features(raw, model, stalled_stage, amount, open_then)


# -- conversation text ---------------------------------------------------------------------------

_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")
TOKEN = r"[a-z][a-z'\-]+|[\u3400-\u9fff]{2}"
STOP_WORDS = sorted(set("the a an and or of to in on for with at by from is are was were be been it its this that they "
                        "them their we our us you your he she his her as about after new not no".split()))


_WORD = re.compile(r"[a-z][a-z'\-]+")
_STOP = frozenset(STOP_WORDS)


def words(text: str) -> list[str]:
    """The TF-IDF tokens of one document: lower-case words, and Chinese as overlapping character pairs
    (讨论续约 -> 讨论 论续 续约). The same tokens as ``split_chinese`` then ``TOKEN`` (a bag of words: only
    their order differs), in one pass without rewriting the text: a third of the text stage's time at
    a million customers."""
    text = text.lower()
    tokens = _WORD.findall(text)
    for run in _CJK_RUN.findall(text):
        tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
    return tokens


def words_without_stop_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in _STOP]


def split_chinese(text: str) -> str:
    """Chinese has no spaces: runs become overlapping character pairs (讨论续约 -> 讨论 论续 续约).
    (Kept: churn models pickled before ``words`` refer to it.)"""
    text = text.lower()
    if not _CJK_RUN.search(text):
        return text
    return _CJK_RUN.sub(lambda m: " " + " ".join(m.group(0)[i:i + 2] for i in range(len(m.group(0)) - 1)) + " ",
                        text)


def text_matrix(docs: list[str], max_features: int = 2000):
    """TF-IDF of words (Chinese: character pairs), sublinear, rows L2-normalised."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    # large corpora: words in more than half the documents are dropped (stop words among them) and
    # the per-token stop-word filter is skipped, it costs seconds at a million interactions
    large = len(docs) >= 5_000
    vectorizer = TfidfVectorizer(analyzer=words if large else words_without_stop_words,
                                 min_df=3 if len(docs) >= 50 else 1,
                                 max_df=0.5 if len(docs) >= 50 else 1.0, max_features=max_features,
                                 sublinear_tf=True, dtype=np.float32)
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:  # no words at all (an empty store)
        return None, sparse.csr_matrix((len(docs), 0), dtype=np.float32)
    return vectorizer, matrix.tocsr()
