"""`/crm audit` reads like a log a person keeps, not Python reprs or raw ISO timestamps (issue 15)."""
from __future__ import annotations

from tests.helpers import say


def test_audit_shows_readable_values(engine, team, clock):
    say(engine, "UALICE", "/crm deal globex 12000 proposal")
    say(engine, "UALICE", "/crm deal globex 15000 negotiation")
    say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    reply = say(engine, "UADA", "/crm audit globex")
    assert not reply.error, reply.text
    text = "\n".join(i.text for i in reply.items)
    assert "[" not in text and "{" not in text and "'" not in text, text
    assert "T15:00:00" not in text and "+00:00" not in text, text
    assert "amount 15,000" in text and "was amount 12,000, stage proposal" in text
    assert "due at Tue 24 Nov 20:00" in text  # 3pm in New York, read by Ada in UTC
