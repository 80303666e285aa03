"""A rep's day in the terminal chat, end to end through integrations/console.py (issue 15): add (and a
refused duplicate), find, log, remind, deal (options, a typo, won), next, tasks, done, digest, and the
numbered buttons — what the terminal prints, and what the store holds afterwards."""
from __future__ import annotations

import io

import pytest
from rich.console import Console
from sqlmodel import select

from crm.models import Customer, Deal, Interaction, Task
from integrations.console import ConsoleChat

pytestmark = pytest.mark.timeout(240)


class Terminal:
    def __init__(self, engine, who: str):
        self.out = io.StringIO()
        self.chat = ConsoleChat(engine, who, Console(file=self.out, width=160, color_system=None))

    def type(self, line: str):
        start = self.out.tell()
        reply = self.chat.run_line(line)
        return reply, self.out.getvalue()[start:]

    def press(self, label_start: str):
        number = next(i for i, b in enumerate(self.chat.buttons, 1) if b.label.startswith(label_start))
        return self.type(str(number))


def test_a_reps_day_in_the_terminal(engine, db, team, clock):
    t = Terminal(engine, "Alice Rep")

    reply, shown = t.type('add "Acme Robotics" email=buyer@acme.example company=Acme phone=+1 555 0199 tier=gold')
    assert not reply.error and "Added Acme Robotics (#" in shown
    reply, shown = t.type('add "ACME robotics" company=acme')
    assert reply.error and "already exists" in shown and "Type 1–2 to press a button" in shown
    reply, shown = t.press("Show")
    assert not reply.error and "buyer@acme.example" in shown
    with db.session() as s:
        acme = s.exec(select(Customer).where(Customer.name == "Acme Robotics")).one()
        assert len(s.exec(select(Customer).where(Customer.company_id == acme.company_id)).all()) == 1

    reply, shown = t.type("find acme")
    assert "1 match for “acme”" in shown and "Acme Robotics" in shown

    reply, shown = t.type("log acme call yesterday 4pm discussed pilot pricing")
    assert not reply.error and "Logged a call with Acme Robotics" in shown and "Sun 22 Nov 16:00" in shown
    reply, shown = t.type("log acme email")
    assert reply.error and "What was it about?" in shown

    reply, shown = t.type("remind acme tomorrow 10am send the pilot proposal")
    assert not reply.error and "Tue 24 Nov 10:00" in shown

    reply, shown = t.type("deal acme 12k proposal pilot close=end of month")
    assert not reply.error and "Opened deal #" in shown and "$12,000 · proposal" in shown
    assert "30 Nov 2026" in shown  # the close date; "close=…" is not in the title
    reply, shown = t.type("deal acme 15k negotation")
    assert reply.error and "did you mean negotiation?" in shown
    reply, shown = t.type("deal acme ¥80000")
    assert not reply.error and "CN¥80,000" in shown
    reply, shown = t.press("Won")
    assert not reply.error and "Won deal #" in shown and "CN¥80,000 · won" in shown

    reply, shown = t.type("next")
    assert not reply.error, shown
    reply, shown = t.type("tasks")
    assert "1 open follow-up," in shown and "send the pilot proposal" in shown
    reply, shown = t.press("Done")
    assert not reply.error and "Done: #" in shown

    reply, shown = t.type("99")
    assert reply.error and "There is no button 99" in shown

    reply, shown = t.type("digest")
    assert not reply.error and "Your morning digest" in shown

    with db.session() as s:
        deal = s.exec(select(Deal).where(Deal.customer_id == acme.id)).one()
        assert (deal.amount, deal.currency, deal.stage, deal.title) == (80000, "CNY", "won", "pilot")
        assert str(deal.expected_close) == "2026-11-30"
        call = s.exec(select(Interaction).where(Interaction.customer_id == acme.id)).one()
        assert call.text == "discussed pilot pricing"
        task = s.exec(select(Task).where(Task.customer_id == acme.id)).one()
        assert task.status == "done"
