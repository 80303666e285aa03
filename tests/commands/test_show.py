"""`/crm show`: the customer card, public or not, by name, quoted name or #id; ambiguity is listed."""
from __future__ import annotations

from crm.models import AuditEvent
from tests.helpers import count


def test_show_card_has_fields_sections_and_buttons(chat, db, team, clock):
    chat.push("/crm log globex call yesterday 4pm discussed renewal pricing", as_="alice")
    chat.push("/crm remind globex tomorrow 3pm send the proposal", as_="alice")
    chat.push("/crm deal globex 12000 proposal", as_="alice")
    reply = chat.push("/crm show globex", as_="alice")
    assert reply.text.startswith("Globex Corporation")
    fields = dict(reply.fields)
    assert fields["Owner"] == "Alice Rep" and fields["Tier"] == "vip"
    titles = [s.title for s in reply.sections]
    assert titles == ["Recent interactions", "Open follow-ups", "Open deals"]
    assert "discussed renewal pricing" in reply.sections[0].items[0].text
    assert [b.form for b in reply.buttons] == ["log", "remind"]
    assert not reply.public
    assert count(db, AuditEvent, AuditEvent.action == "customer.view") == 1


def test_show_public_and_by_id_and_quoted(chat, team):
    assert chat.push("/crm show globex public", as_="alice").public
    assert chat.push(f"/crm show #{team.initech}", as_="alice").text.startswith("Initech")
    assert chat.push('/crm show "Li Na"', as_="alice").text.startswith("Li Na")


def test_show_ambiguous_lists_candidates_instead_of_guessing(chat, db, team):
    from crm.customers import create_customer

    with db.session() as s:
        create_customer(s, "Globex Europe", company="Globex")
    reply = chat.push("/crm show glob", as_="alice")
    assert reply.error and "several" in reply.text
    labels = [i.text for i in reply.items]
    assert any("Globex Corporation" in t for t in labels) and any("Globex Europe" in t for t in labels)
    assert all(i.buttons[0].command.startswith("show #") for i in reply.items)


def test_show_unknown_customer(chat, team):
    reply = chat.push("/crm show nosuchperson", as_="alice")
    assert reply.error and "/crm add" in reply.text
    assert chat.push("/crm show #9999", as_="alice").error
    assert chat.push("/crm show", as_="alice").error
