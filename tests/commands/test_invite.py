"""`/crm invite`: a single-use Telegram deep link for a customer."""
from __future__ import annotations

from sqlmodel import select

from crm.models import InviteToken


def test_invite_makes_a_token_link(chat, engine, db, team):
    engine.ports.telegram_bot_username = "AcmeCRMBot"
    reply = chat.push("/crm invite globex", as_="alice")
    link = dict(reply.fields)["Link"]
    with db.session() as s:
        token = s.exec(select(InviteToken)).one()
    assert link == f"https://t.me/AcmeCRMBot?start={token.token}"
    assert token.customer_id == team.globex and len(token.token) <= 64
