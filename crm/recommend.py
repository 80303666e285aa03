"""Recommendations: behaviour features, similar customers, the churn-risk model and `/crm next`.

Risk: a logistic regression on the store's own history (churned customers, described as they
were on their churn date, against customers who stayed, described as they are now), on
scaled behaviour features plus TF-IDF of what was said in logged calls, notes and Telegram
messages; probabilities calibrated (Platt, 3-fold). A customer's reasons are the features that
push its score up most (coefficient x scaled value). With fewer than ``MIN_LABELS`` churned or
stayed customers there is nothing to learn from, and ``heuristic_risk`` (documented below)
is used instead, and every answer says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from crm.i18n import money_totals
from crm.insights.snapshot import DAY, DEAL_STAGES, INBOUND, INTERNAL, KINDS, STAGES, TIERS, Snapshot

MIN_LABELS = 30  # churned and stayed customers each, before a model is trained
TEXT_WEIGHT = 0.5
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
    # open deals in units of the business currency, comparable across currencies (``comparable_deal_value``):
    # what rankings weigh; None until the job sets it, then ``deal_amount`` is used
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


def split_chinese(text: str) -> str:
    """Chinese has no spaces: runs become overlapping character pairs (讨论续约 -> 讨论 论续 续约)."""
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
    vectorizer = TfidfVectorizer(preprocessor=split_chinese, token_pattern=TOKEN,
                                 stop_words=None if large else STOP_WORDS, min_df=3 if len(docs) >= 50 else 1,
                                 max_df=0.5 if len(docs) >= 50 else 1.0, max_features=max_features,
                                 sublinear_tf=True, dtype=np.float32)
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:  # no words at all (an empty store)
        return None, sparse.csr_matrix((len(docs), 0), dtype=np.float32)
    return vectorizer, matrix.tocsr()


# -- churn risk ----------------------------------------------------------------------------------

@dataclass
class RiskResult:
    risk: np.ndarray  # per customer, 0..1
    reasons: list[list[dict]]  # per customer, structured reasons, strongest first
    source: str  # "model" | "heuristic"
    churned: int
    stayed: int
    auc_cv: float | None = None
    model: object = None
    detail: dict = field(default_factory=dict)


def heuristic_risk(raw: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Used when there are too few labels to learn from. Each cause is a probability, combined
    as independent chances: risk = 1 - prod(1 - p).

        silence  p = 0.5 * clip((days since contact - 30) / 60, 0, 1)
        tickets  p = 0.2 * min(open tickets, 2)
        ratings  p = 0.2 * min(bad ratings in 180 days, 2)
        deals    p = 0.3 * clip((days a proposal/negotiation deal has not moved - 30) / 60, 0, 1)
    """
    parts = [
        0.5 * np.clip((raw[:, COL["days_since_contact"]] - 30) / 60, 0, 1),
        0.2 * np.minimum(raw[:, COL["open_tickets"]], 2),
        0.2 * np.minimum(raw[:, COL["bad_ratings_180d"]], 2),
        0.3 * np.clip((raw[:, COL["stalled_deal_days"]] - 30) / 60, 0, 1),
    ]
    risk = 1 - np.prod([1 - p for p in parts], axis=0)
    return risk, parts


HEURISTIC_FEATURES = ["days_since_contact", "open_tickets", "bad_ratings_180d", "stalled_deal_days"]


def train_risk(feat: Features, texts: sparse.csr_matrix, vocabulary: list[str], stage: np.ndarray, *,
               train_mask: np.ndarray | None = None, seed: int = 7) -> RiskResult:
    """Fit on churned vs stayed customers and score everyone; fall back to the heuristic when labels are few."""
    labels = (stage == CHURNED).astype(int)
    usable = np.ones(len(labels), dtype=bool) if train_mask is None else train_mask
    churned, stayed = int(labels[usable].sum()), int((1 - labels[usable]).sum())
    if churned < MIN_LABELS or stayed < MIN_LABELS:
        risk, parts = heuristic_risk(feat.raw)
        reasons = _heuristic_reasons(feat, parts)
        return RiskResult(risk, reasons, "heuristic", churned, stayed)

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    numeric = feat.model[:, CHURN_COLUMNS]
    scaler = StandardScaler().fit(numeric[usable])
    z = scaler.transform(numeric)
    # text gets a smaller voice than behaviour: it explains, behaviour decides
    X = sparse.hstack([sparse.csr_matrix(z), texts * TEXT_WEIGHT], format="csr")
    X_train, y_train = X[usable], labels[usable]

    def fit(rows, y):
        return LogisticRegression(C=0.5, max_iter=200, tol=1e-4).fit(rows, y)

    # Platt scaling on out-of-fold scores (what CalibratedClassifierCV(ensemble=False) does), and the
    # same out-of-fold scores give an honest ROC AUC for the summary
    oof = np.zeros(len(y_train))
    for train, test in StratifiedKFold(3, shuffle=True, random_state=seed).split(X_train, y_train):
        oof[test] = fit(X_train[train], y_train[train]).decision_function(X_train[test])
    platt = LogisticRegression(C=1e6).fit(oof.reshape(-1, 1), y_train)
    auc = float(roc_auc_score(y_train, oof))
    lr = fit(X_train, y_train)
    risk = platt.predict_proba(lr.decision_function(X).reshape(-1, 1))[:, 1]
    coef = lr.coef_.ravel()
    contributions_numeric = z * coef[: len(CHURN_COLUMNS)]
    text_coef = coef[len(CHURN_COLUMNS):] * TEXT_WEIGHT
    reasons = _model_reasons(feat, contributions_numeric, texts, text_coef, vocabulary)
    return RiskResult(risk, reasons, "model", churned, stayed, auc_cv=auc, model=(scaler, lr, platt),
                      detail={"coefficients": {FEATURE_NAMES[c]: round(float(w), 3)
                                               for c, w in zip(CHURN_COLUMNS, coef[: len(CHURN_COLUMNS)])}})


def _reason(feat: Features, i: int, name: str) -> dict | None:
    v = feat.raw[i, COL[name]]
    if name in ("days_since_contact", "days_since_reply"):
        return {"kind": "silent" if name == "days_since_contact" else "no_reply", "days": round(v)} if v >= 14 else None
    if name == "touches_90d":
        return {"kind": "few_touches", "count": int(v)} if v <= 2 else None
    if name == "reply_share_90d":
        return {"kind": "one_way", "share": round(float(v), 2)} if v < 0.25 else None
    if name == "open_tickets":
        return {"kind": "ticket", "count": int(v), "days": round(feat.raw[i, COL["oldest_open_ticket_days"]])} \
            if v >= 1 else None
    if name == "oldest_open_ticket_days":
        return _reason(feat, i, "open_tickets")
    if name == "bad_ratings_180d":
        return {"kind": "bad_rating", "count": int(v)} if v >= 1 else None
    if name == "stalled_deal_days":
        stage = int(feat.stalled_stage[i])
        return {"kind": "stalled_deal", "days": round(v), "stage": DEAL_STAGES[stage] if stage >= 0 else "open"} \
            if v >= 21 else None
    if name == "telegram_messages_90d":
        return {"kind": "messages", "count": int(v)} if v >= 2 else None
    if name == "lost_deals":
        return {"kind": "lost_deals", "count": int(v)} if v >= 1 else None
    return None


def _model_reasons(feat, contributions, texts, text_coef, vocabulary) -> list[list[dict]]:
    n = contributions.shape[0]
    top = np.argsort(-contributions, axis=1)[:, :4]
    weighted = texts.multiply(text_coef.reshape(1, -1)).tocsr() if texts.shape[1] else None
    out = []
    for i in range(n):
        reasons, kinds = [], set()
        for j in top[i]:
            if contributions[i, j] <= 0.05:
                break
            r = _reason(feat, i, FEATURE_NAMES[CHURN_COLUMNS[j]])
            if r and r["kind"] not in kinds:
                kinds.add(r["kind"])
                reasons.append(r | {"weight": round(float(contributions[i, j]), 2)})
        if weighted is not None:
            a, b = weighted.indptr[i], weighted.indptr[i + 1]
            if b > a:
                data, idx = weighted.data[a:b], weighted.indices[a:b]
                best = np.argsort(-data)[:3]
                words = [vocabulary[idx[k]] for k in best if data[k] > 0.05]
                if words:
                    reasons.append({"kind": "words", "words": words, "weight": round(float(data[best[0]]), 2)})
        out.append(reasons[:4])
    return out


def _heuristic_reasons(feat: Features, parts: list[np.ndarray]) -> list[list[dict]]:
    out = []
    stacked = np.vstack(parts).T
    for i in range(stacked.shape[0]):
        reasons = []
        for j in np.argsort(-stacked[i]):
            if stacked[i, j] <= 0:
                break
            r = _reason(feat, i, HEURISTIC_FEATURES[j])
            if r:
                reasons.append(r | {"weight": round(float(stacked[i, j]), 2)})
        out.append(reasons)
    return out


# -- similar customers ---------------------------------------------------------------------------

def similarity_index(feat: Features, texts: sparse.csr_matrix, risk: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Row-normalised scaled behaviour (dense float32) and row-normalised TF-IDF (sparse)."""
    numeric = np.column_stack([feat.model[:, SIMILAR_COLUMNS], risk * 3.0])
    mean, std = numeric.mean(axis=0), numeric.std(axis=0)
    z = (numeric - mean) / np.where(std > 0, std, 1.0)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    behaviour = (z / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return behaviour, texts.astype(np.float32)


def nearest(behaviour: np.ndarray, texts: sparse.csr_matrix, position: int, *, k: int = 5,
            text_weight: float = 0.5, exclude: np.ndarray | None = None) -> list[tuple[int, float, float, float]]:
    """(position, score, behaviour similarity, text similarity) of the k most similar customers."""
    b = behaviour @ behaviour[position]
    if texts.shape[1]:
        t = np.asarray((texts @ texts.getrow(position).T).todense()).ravel()
    else:
        t = np.zeros(len(b), dtype=np.float32)
    score = (1 - text_weight) * b + text_weight * t
    score[position] = -np.inf
    if exclude is not None:
        score[exclude] = -np.inf
    k = min(k, len(score) - 1)
    if k <= 0:
        return []
    top = np.argpartition(-score, k - 1)[:k]
    top = top[np.argsort(-score[top])]
    return [(int(j), float(score[j]), float(b[j]), float(t[j])) for j in top if np.isfinite(score[j])]


# -- next best action ----------------------------------------------------------------------------

@dataclass
class Priorities:
    score: np.ndarray
    reasons: list[list[dict]]


def acceptance_rates(feedback: list[tuple[int, str, str]]) -> tuple[dict, dict]:
    """How often each kind of reason led to an accepted rather than dismissed recommendation.

    ``feedback`` is (staff id, action, reason kinds "a,b"). Beta(2, 2) prior for the team per kind;
    a person's own rate shrinks toward the team's with a weight of 4 answers.
    """
    team: dict[str, list[int]] = {}
    person: dict[tuple[int, str], list[int]] = {}
    for staff, action, kinds in feedback:
        if action not in ("accepted", "dismissed"):
            continue
        for kind in filter(None, kinds.split(",")):
            for counts in (team.setdefault(kind, [0, 0]), person.setdefault((staff, kind), [0, 0])):
                counts[0 if action == "accepted" else 1] += 1
    team_rate = {k: (a + 2) / (a + d + 4) for k, (a, d) in team.items()}
    person_rate = {key: (a + 4 * team_rate[key[1]]) / (a + d + 4) for key, (a, d) in person.items()}
    return team_rate, person_rate


def next_priorities(snap: Snapshot, feat: Features, risk: np.ndarray,
                    feedback: list[tuple[int, str, str]] | None = None) -> Priorities:
    """How much a call today is worth, per live customer, for its owner.

        value    v = tier value (standard 1, silver 1.5, gold 2.5, vip 4) * (1 + ln(1 + open deals / $10k))
        overdue  o = clip((days since contact - tier cadence) / cadence, 0, 2) / 2
                     (cadence: vip 14, gold 21, silver 30, standard 45 days)
        deal     g = 1 if a proposal/negotiation deal has not moved for 21+ days, 0.5 if one is open
        ticket   t = 1 if a ticket has been open 2+ days
        score    = v * (0.45 * risk + 0.25 * o + 0.2 * g + 0.1 * t) * (0.5 + acceptance)
    acceptance: the owner's smoothed rate of accepting recommendations with these kinds of
    reasons (0.5 without feedback, so the factor is 1).
    """
    raw = feat.raw
    tier = snap.tier.astype(int)
    money = feat.deal_value if feat.deal_value is not None else feat.deal_amount
    value = TIER_VALUE[tier] * (1 + np.log1p(money / 10_000.0))
    days = raw[:, COL["days_since_contact"]]
    cadence = CADENCE_DAYS[tier]
    overdue = np.clip((days - cadence) / cadence, 0, 2) / 2
    stalled = raw[:, COL["stalled_deal_days"]]
    deal = np.where(stalled >= 21, 1.0, np.where(feat.stalled_stage >= 0, 0.5, 0.0))
    ticket = (raw[:, COL["oldest_open_ticket_days"]] >= 2).astype(float)
    base = value * (0.45 * risk + 0.25 * overdue + 0.2 * deal + 0.1 * ticket)
    live = snap.stage != CHURNED
    team_rate, person_rate = acceptance_rates(feedback or [])
    score = np.zeros(snap.n_customers)
    reasons: list[list[dict]] = []
    amounts = open_amounts_by_currency(snap, feat)
    for i in range(snap.n_customers):
        if not live[i] or base[i] <= 0:
            reasons.append([])
            continue
        rs = []
        if overdue[i] > 0:
            rs.append({"kind": "silent", "days": round(days[i]), "cadence": int(cadence[i])})
        if deal[i] > 0:
            rs.append({"kind": "deal", "stage": DEAL_STAGES[int(feat.stalled_stage[i])] if feat.stalled_stage[i] >= 0
                       else "open", "days": round(stalled[i]), "amount": float(feat.deal_amount[i]),
                       "amounts": amounts.get(i, {})})
        if ticket[i]:
            rs.append({"kind": "ticket", "count": int(raw[i, COL["open_tickets"]]),
                       "days": round(raw[i, COL["oldest_open_ticket_days"]])})
        if risk[i] >= 0.3:
            rs.append({"kind": "risk", "value": round(float(risk[i]), 2)})
        if tier[i] >= 2:
            rs.append({"kind": "tier", "tier": TIERS[tier[i]]})
        kinds = [r["kind"] for r in rs]
        owner = int(snap.staff_ids[snap.owner_of[i]]) if snap.owner_of[i] >= 0 else None
        rates = [person_rate.get((owner, k), team_rate.get(k, 0.5)) for k in kinds] or [0.5]
        score[i] = base[i] * (0.5 + float(np.mean(rates)))
        reasons.append(rs)
    return Priorities(score, reasons)


def comparable_deal_value(snap: Snapshot, feat: Features, base: str = "USD",
                          rates: dict[str, float] | None = None) -> np.ndarray:
    """Per customer, its open deals in units of the business currency ``base``, so rankings never add
    ¥50,000 to $12,000 as 62,000 of anything.

    A currency with a rate (CRM_CURRENCY_RATES: units of ``base`` per unit) is converted. One without
    is compared within itself: its amounts are scaled so that its median open deal weighs as much as
    the median open deal in ``base`` (or $10,000-equivalent when there is none), i.e. a customer counts
    by where its deal sits among the deals of the same currency, not by the size of the number.
    """
    n = snap.n_customers
    if feat.open_deals is None or snap.d_currency is None or not feat.open_deals.any():
        return np.zeros(n)
    rates = {c.upper(): float(r) for c, r in (rates or {}).items() if r and r > 0}
    rates[base] = 1.0
    is_open = feat.open_deals
    codes = np.array([snap.currencies[c] if c >= 0 else "XXX" for c in range(-1, len(snap.currencies))])
    currency = codes[snap.d_currency.astype(np.int64) + 1]
    amount = snap.d_amount.astype(np.float64)
    unit = np.zeros(len(amount))
    positive = is_open & (amount > 0)
    base_deals = amount[positive & (currency == base)]
    reference = float(np.median(base_deals)) if len(base_deals) else 10_000.0
    for code in np.unique(currency[is_open]):
        mine = currency == code
        if code in rates:
            unit[mine] = rates[code]
            continue
        typical = amount[positive & mine]
        unit[mine] = reference / float(np.median(typical)) if len(typical) else 0.0
    return np.bincount(snap.d_customer[is_open], weights=(amount * unit)[is_open], minlength=n)


def open_amounts_by_currency(snap: Snapshot, feat: Features) -> dict[int, dict[str, float]]:
    """Customer position -> {currency: open amount}: ¥50,000 and $12,000 stay two figures (issue 15)."""
    if feat.open_deals is None or snap.d_currency is None:
        return {}
    out: dict[int, dict[str, float]] = {}
    for k in np.flatnonzero(feat.open_deals):
        code = int(snap.d_currency[k])
        currency = snap.currencies[code] if code >= 0 else "XXX"  # ISO 4217's "no currency"
        per = out.setdefault(int(snap.d_customer[k]), {})
        per[currency] = per.get(currency, 0.0) + float(snap.d_amount[k])
    return out


def reason_kinds(reasons: list[dict]) -> str:
    return ",".join(r["kind"] for r in reasons)[:200]


def describe(reason: dict, lang: str = "en") -> str:
    """One reason as a short phrase for people."""
    k = reason["kind"]
    zh = lang == "zh"
    if k == "silent":
        return f"已 {reason['days']} 天未联系" if zh else f"no contact in {reason['days']} days"
    if k == "no_reply":
        return f"对方 {reason['days']} 天未回复" if zh else f"no reply from them in {reason['days']} days"
    if k == "few_touches":
        return f"90 天内仅 {reason['count']} 次接触" if zh else f"only {reason['count']} touches in 90 days"
    if k == "one_way":
        return f"单向联系（对方回复仅占 {reason['share']:.0%}）" if zh else \
            f"one-way contact (only {reason['share']:.0%} of recent touches were replies)"
    if k == "ticket":
        return f"{reason['count']} 个未解决工单，最久 {reason['days']} 天" if zh else \
            f"{reason['count']} unresolved ticket{'s' if reason['count'] != 1 else ''}, oldest {reason['days']} days"
    if k == "bad_rating":
        return f"半年内 {reason['count']} 次差评（≤2/5）" if zh else \
            f"{reason['count']} bad rating{'s' if reason['count'] != 1 else ''} (≤2/5) in 6 months"
    if k == "stalled_deal":
        return f"{reason['stage']} 阶段的商机已停滞 {reason['days']} 天" if zh else \
            f"deal stuck in {reason['stage']} for {reason['days']} days"
    if k == "deal":
        # per currency, in Babel's CLDR formats as deals show them; a reason stored before deals had a
        # currency ("amount" only) gets no figure rather than a wrong one in dollars
        amounts = [(v, c) for c, v in (reason.get("amounts") or {}).items() if v]
        amount = f" {money_totals(amounts, lang)} " if amounts else ""
        if reason["days"] >= 21:
            return f"{reason['stage']} 阶段商机{amount}已 {reason['days']} 天无进展" if zh else \
                f"{amount.strip() + ' ' if amount else ''}deal in {reason['stage']} stage, no movement in {reason['days']} days"
        return f"{reason['stage']} 阶段商机{amount}进行中" if zh else \
            f"{amount.strip() + ' ' if amount else ''}deal open in {reason['stage']} stage"
    if k == "messages":
        return f"90 天内 {reason['count']} 条 Telegram 消息" if zh else f"{reason['count']} Telegram messages in 90 days"
    if k == "lost_deals":
        return f"{reason['count']} 个输单" if zh else f"{reason['count']} lost deal{'s' if reason['count'] != 1 else ''}"
    if k == "words":
        words = "、".join(reason["words"]) if zh else ", ".join(f"“{w}”" for w in reason["words"])
        return f"对话中提到 {words}" if zh else f"their conversations mention {words}"
    if k == "risk":
        return f"流失风险 {reason['value']:.2f}" if zh else f"risk {reason['value']:.2f}"
    if k == "tier":
        return f"{reason['tier']} 客户" if zh else f"{reason['tier']} account"
    if k == "signal":  # crm/message_reading.py: a complaint or cancellation signal in their messages
        return reason.get("text_zh" if zh else "text", k)
    return k


def describe_all(reasons: list[dict], lang: str = "en", limit: int = 4) -> str:
    return ("，" if lang == "zh" else ", ").join(describe(r, lang) for r in reasons[:limit])
