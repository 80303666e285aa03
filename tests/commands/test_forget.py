"""`/crm forget`: erasure after confirmation (GDPR art. 17)."""
from __future__ import annotations

from sqlmodel import select

from crm.models import AuditEvent, Customer, Interaction


def test_forget_needs_confirmation_then_erases(chat, db, team):
    chat.push("/crm log globex call discussed pricing with ops@globex.example", as_="alice")
    ask = chat.push("/crm forget globex", as_="ada")
    assert ask.buttons[0].command == f"forget #{team.globex} confirm" and ask.buttons[0].confirm
    with db.session() as s:
        assert s.get(Customer, team.globex).forgotten_at is None
    done = chat.push(ask.buttons[0].command, as_="ada")
    assert "Erased" in done.text
    with db.session() as s:
        c = s.get(Customer, team.globex)
        assert c.email is None and c.name == f"Erased customer #{team.globex}" and c.forgotten_at
        assert s.exec(select(Interaction)).one().text == ""
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "customer.forget")).one()
    assert "Globex Corporation" not in chat.push("/crm find globex", as_="alice").plain_text()
    assert chat.push(f"/crm show #{team.globex}", as_="alice").error
