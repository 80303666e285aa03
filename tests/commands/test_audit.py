"""`/crm audit`: who read or changed a customer."""
from __future__ import annotations


def test_audit_trail_for_admins(chat, team):
    chat.push("/crm show globex", as_="alice")
    assert chat.push("/crm audit globex", as_="alice").error
    reply = chat.push("/crm audit globex", as_="ada")
    assert any("Alice Rep via slack · customer.view" in i.text for i in reply.items)
