"""The churn-risk model: who is likely to leave, and the reasons that push each score up.

Risk: a logistic regression on the store's own history (churned customers, described as they
were on their churn date, against customers who stayed, described as they are now), on
scaled behaviour features plus TF-IDF of what was said in logged calls, notes and Telegram
messages; probabilities calibrated (Platt, 3-fold). A customer's reasons are the features that
push its score up most (coefficient x scaled value). With fewer than ``MIN_LABELS`` churned or
stayed customers there is nothing to learn from, and ``heuristic_risk`` (documented below)
is used instead, and every answer says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from crm.insights.features import CHURN_COLUMNS, CHURNED, COL, FEATURE_NAMES, Features
from crm.insights.snapshot import DEAL_STAGES

MIN_LABELS = 30  # churned and stayed customers each, before a model is trained
TEXT_WEIGHT = 0.5
TRAIN_AT_MOST = 200_000  # customers the model is fitted on (stratified sample above that)


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

    sampled = None
    if usable.sum() > TRAIN_AT_MOST:
        # a large store: the model learns from a stratified random sample (a few thousand weights need
        # nowhere near a million rows; fitting and cross-validating on all of them was minutes of the
        # nightly budget) and scores everyone
        rng = np.random.default_rng(seed)
        sample = np.zeros(len(labels), dtype=bool)
        positive = np.flatnonzero(usable & (labels == 1))
        take = max(MIN_LABELS, int(round(TRAIN_AT_MOST * len(positive) / usable.sum())))
        for pool, k in ((positive, take), (np.flatnonzero(usable & (labels == 0)), TRAIN_AT_MOST - take)):
            sample[rng.choice(pool, k, replace=False)] = True
        usable, sampled = sample, int(sample.sum())
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
                      detail={"sample": sampled,
                              "coefficients": {FEATURE_NAMES[c]: round(float(w), 3)
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
