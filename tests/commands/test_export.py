"""`/crm export`: everything held on a customer, for admins (GDPR art. 15)."""
from __future__ import annotations

import json


def test_export_is_admin_only_and_complete(chat, db, team):
    chat.push("/crm log globex call discussed pricing", as_="alice")
    assert "admin role" in chat.push("/crm export globex", as_="alice").text
    reply = chat.push("/crm export globex", as_="ada")
    data = json.loads(open(reply.file_path, encoding="utf-8").read())
    assert data["customer"]["email"] == "ops@globex.example"
    assert data["interactions"][0]["text"] == "discussed pricing"
