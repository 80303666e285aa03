"""A known business day for the digest tests (tests/test_scheduler_digests.py, tests/commands/test_digest.py)."""
from __future__ import annotations

import json

from crm.interactions import log_interaction
from crm.models import Customer, CustomerInsight, Deal, Staff, Task, Ticket
from tests.helpers import utc

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Maria manages Alice and Bob from London, where November is UTC: her day is the UTC day
EIGHT_LONDON = utc(2026, 11, 23, 8, 0, 10)


def seed_known_day(db, team) -> None:
    """A day with exact numbers. Maria's "yesterday" is Sun 22 Nov 2026, 00:00–24:00 UTC."""
    with db.session() as s:
        alice, bob = s.get(Staff, team.alice), s.get(Staff, team.bob)
        globex, initech, wang, li = (s.get(Customer, i) for i in (team.globex, team.initech, team.wang, team.li))
        wang.tier = "gold"  # a key account where 王伟 is our only contact

        def log(customer, staff, kind, at, channel):
            log_interaction(s, customer, kind=kind, text=f"{kind} at {at:%H:%M}", staff=staff, occurred_at=at,
                            channel=channel)

        for hour in (9, 11, 15):
            log(globex, alice, "call", utc(2026, 11, 22, hour), "slack")
        log(li, alice, "message", utc(2026, 11, 22, 16), "telegram")
        log(globex, alice, "email", utc(2026, 11, 21, 23, 59), "slack")  # Saturday: not yesterday
        log(initech, bob, "email", utc(2026, 11, 22, 0, 0), "console")
        log(wang, bob, "email", utc(2026, 11, 22, 23, 59, 59), "console")
        log(wang, bob, "email", utc(2026, 11, 23, 0, 0, 1), "console")  # today already
        for day in range(9, 22):  # the chart's two weeks: one meeting a day for Bob
            log(initech, bob, "meeting", utc(2026, 11, day, 10), "slack")

        s.add_all([
            Task(owner_id=alice.id, customer_id=globex.id, title="send the contract", due_at=utc(2026, 11, 20, 15)),
            Task(owner_id=alice.id, customer_id=li.id, title="ask for referral", due_at=utc(2026, 11, 21, 15)),
            Task(owner_id=bob.id, customer_id=wang.id, title="回电话", due_at=utc(2026, 11, 23, 7)),
            Task(owner_id=bob.id, title="old and done", due_at=utc(2026, 11, 19, 7), status="done"),
            Task(owner_id=alice.id, title="not due yet", due_at=utc(2026, 11, 24, 15)),
        ])
        s.add_all([
            Ticket(customer_id=wang.id, assignee_id=bob.id, status="open", opened_at=utc(2026, 11, 21, 8),
                   last_inbound_at=utc(2026, 11, 21, 8)),
            Ticket(customer_id=globex.id, assignee_id=alice.id, status="open", opened_at=utc(2026, 11, 23, 6),
                   last_inbound_at=utc(2026, 11, 23, 6), first_response_at=utc(2026, 11, 23, 6, 30)),
            Ticket(customer_id=li.id, assignee_id=alice.id, status="resolved", opened_at=utc(2026, 11, 1),
                   resolved_at=utc(2026, 11, 2)),
        ])
        s.add_all([
            Deal(customer_id=globex.id, owner_id=alice.id, title="Renewal", amount=12000, stage="proposal",
                 stage_changed_at=utc(2026, 11, 22, 15)),
            Deal(customer_id=initech.id, owner_id=bob.id, title="Pilot", amount=30000, stage="qualified",
                 stage_changed_at=utc(2026, 10, 1)),
            Deal(customer_id=li.id, owner_id=alice.id, title="Expansion", amount=5000, stage="negotiation",
                 stage_changed_at=utc(2026, 11, 10)),
            Deal(customer_id=wang.id, owner_id=bob.id, title="续约", amount=8000, stage="won",
                 stage_changed_at=utc(2026, 11, 5), closed_at=utc(2026, 11, 5)),
        ])
        insight = dict(computed_at=utc(2026, 11, 23, 2))
        scored = hasattr(CustomerInsight, "priority")
        rows = [(globex, 0.3, 0.9, [{"kind": "silent", "days": 30}], None),
                (initech, 0.2, 0.5, [{"kind": "stalled_deal", "stage": "qualified", "days": 53}], None),
                (li, 0.1, 0.2, [], 0.42),
                (wang, 0.85, 0.7, [{"kind": "no_reply", "days": 12}], None)]
        for customer, risk, priority, reasons, betweenness in rows:
            extra = {"priority": priority, "priority_reasons": json.dumps(reasons)} if scored else {}
            s.add(CustomerInsight(customer_id=customer.id, risk=risk, risk_reasons=json.dumps(reasons),
                                  betweenness=betweenness, **insight, **extra))
