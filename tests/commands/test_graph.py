"""`/crm graph`: a picture of a customer's relationships."""
from __future__ import annotations

from tests.insights_support import relate


def test_graph_command_saves_a_png(chat, db, team, book):
    with db.session() as s:
        relate(s, team.globex, team.initech, "referred", 0.9)
    reply = chat.push("/crm graph globex", as_="alice")
    assert not reply.error, reply.plain_text()
    with open(reply.image_path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "Relationships of Globex Corporation" in reply.text


def test_graph_of_a_customer_with_one_relationship(chat, team):
    reply = chat.push("/crm graph globex", as_="maria")
    assert not reply.error and reply.text.startswith("Relationships of Globex Corporation")
    with open(reply.image_path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
