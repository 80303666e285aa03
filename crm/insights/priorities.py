"""`/crm next`: how much a call today is worth, per live customer, for its owner, and why."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm.insights.features import CADENCE_DAYS, CHURNED, COL, TIER_VALUE, Features
from crm.insights.snapshot import DEAL_STAGES, TIERS, Snapshot


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
