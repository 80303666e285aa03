"""Staff notes end to end: a sentence → a card → Confirm (stored once) or Cancel (nothing stored)."""
from __future__ import annotations

import io

from rich.console import Console
from sqlmodel import func, select

from crm.models import AuditEvent, Deal, Interaction, PendingNote, Task
from integrations.console import ConsoleChat
from tests.helpers import say

NOTE_EN = "Called Li Na at Globex yesterday 4pm, budget is $12k, follow up next Tuesday 10am"
NOTE_ZH = "昨天下午和华为技术的王伟开了会，他们想再加20个席位，下周二上午10点跟进"


def counts(db) -> dict[str, int]:
    with db.session() as s:
        return {m.__name__: s.exec(select(func.count()).select_from(m)).one()
                for m in (Interaction, Task, Deal, AuditEvent)}


def note_id(reply) -> str:
    confirm = next(b for b in reply.buttons if b.command.startswith("note confirm"))
    return confirm.command.split()[-1]


def test_sentence_gets_a_card_and_nothing_is_stored(engine, db, team):
    before = counts(db)
    reply = say(engine, "UALICE", NOTE_EN)
    assert not reply.error, reply.plain_text()
    fields = dict(reply.fields)
    assert fields["Customer"].startswith("Li Na (#")
    assert fields["Kind"] == "call"
    assert fields["When"] == "Sun 22 Nov 16:00"  # Alice's zone is New York; the engine clock is Mon 23 Nov
    assert fields["Follow-up"].startswith("Tue 1 Dec 10:00")
    assert "$12,000" in fields["Deal"]
    assert [b.label for b in reply.buttons] == ["Confirm", "Edit", "Cancel"]
    assert counts(db) == before


def test_confirm_does_what_log_remind_and_deal_do_exactly_once(engine, db, team):
    before = counts(db)
    card = say(engine, "UALICE", NOTE_EN)
    ref = note_id(card)
    done = say(engine, "UALICE", f"note confirm {ref}")
    assert not done.error, done.plain_text()
    after = counts(db)
    assert after["Interaction"] == before["Interaction"] + 1
    assert after["Task"] == before["Task"] + 1
    assert after["Deal"] == before["Deal"] + 1
    assert after["AuditEvent"] == before["AuditEvent"] + 3  # interaction.create, task.create, deal.create
    with db.session() as s:
        interaction = s.exec(select(Interaction).order_by(Interaction.id.desc())).first()
        assert interaction.customer_id == team.li and interaction.kind == "call" and interaction.staff_id == team.alice
        assert interaction.occurred_at.isoformat().startswith("2026-11-22T21:00")  # 16:00 New York
        task = s.exec(select(Task).order_by(Task.id.desc())).first()
        assert task.owner_id == team.alice and task.customer_id == team.li
        assert task.due_at.isoformat().startswith("2026-12-01T15:00")  # 10:00 New York
        deal = s.exec(select(Deal).order_by(Deal.id.desc())).first()
        assert deal.amount == 12000 and deal.customer_id == team.li
        actions = [a.action for a in s.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(3))]
        assert sorted(actions) == ["deal.create", "interaction.create", "task.create"]
    again = say(engine, "UALICE", f"note confirm {ref}")
    assert "already confirmed" in again.text
    assert counts(db) == after


def test_cancel_discards_and_confirm_after_cancel_stores_nothing(engine, db, team):
    before = counts(db)
    ref = note_id(say(engine, "UBOB", NOTE_ZH))
    assert "取消" in say(engine, "UBOB", f"note cancel {ref}").text
    assert "取消" in say(engine, "UBOB", f"note confirm {ref}").text
    assert counts(db) == before
    with db.session() as s:
        assert s.get(PendingNote, int(ref.lstrip("#"))).status == "cancelled"


def test_someone_else_cannot_confirm_my_note(engine, db, team):
    ref = note_id(say(engine, "UALICE", NOTE_EN))
    reply = say(engine, "UBOB", f"note confirm {ref}")
    assert reply.error
    with db.session() as s:
        assert s.get(PendingNote, int(ref.lstrip("#"))).status == "pending"


def test_small_talk_gets_the_short_help_and_typos_the_suggestion(engine, db, team):
    before = counts(db)
    for text in ("thanks", "hi", "ok", "谢谢", "ok 👍"):
        reply = say(engine, "UALICE", text)
        assert "write what happened" in reply.text or "直接写下" in reply.text, (text, reply.text)
        assert not reply.buttons
    typo = say(engine, "UALICE", "fnd globex")
    assert typo.error and "/crm find" in typo.text
    assert counts(db) == before
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(PendingNote)).one() == 0


def test_edit_gives_a_correctable_line_and_set_changes_the_card(engine, db, team):
    ref = note_id(say(engine, "UALICE", NOTE_EN))
    line = say(engine, "UALICE", f"note edit {ref}").text.splitlines()[-1]
    assert line.startswith(f"/crm note set {ref} customer=#{team.li} kind=call")
    assert 'follow="2026-12-01 10:00"' in line and "amount=12000" in line
    changed = say(engine, "UALICE", f"note set {ref} customer=#{team.globex} kind=meeting amount=none")
    fields = dict(changed.fields)
    assert fields["Customer"].startswith("Globex Corporation") and fields["Kind"] == "meeting"
    assert fields["Deal"] == "—"
    before = counts(db)
    say(engine, "UALICE", f"note confirm {ref}")
    after = counts(db)
    assert after["Deal"] == before["Deal"] and after["Interaction"] == before["Interaction"] + 1


def test_unclear_customer_offers_candidates_not_confirm(engine, db, team):
    reply = say(engine, "UALICE", "Lunch with someone from Globex yesterday, they want a demo")
    assert not any(b.command.startswith("note confirm") for b in reply.buttons)
    picks = [b.command for item in reply.items for b in item.buttons]
    assert any(c.endswith(f"customer=#{team.globex}") for c in picks)
    assert any(c.endswith(f"customer=#{team.li}") for c in picks)


def test_terminal_chat_confirms_with_the_numbered_button(engine, db, team):
    out = io.StringIO()
    chat = ConsoleChat(engine, "Alice Rep", Console(file=out, width=120))
    before = counts(db)
    card = chat.run_line("Emailed Li Na this morning about the renewal, remind me friday 3pm to call her")
    assert [b.label for b in chat.buttons][:1] == ["Confirm"]
    assert counts(db) == before
    done = chat.run_line("1")  # presses Confirm
    assert "Done" in done.text, done.plain_text()
    after = counts(db)
    assert after["Interaction"] == before["Interaction"] + 1 and after["Task"] == before["Task"] + 1
    with db.session() as s:
        task = s.exec(select(Task).order_by(Task.id.desc())).first()
        assert task.title == "call her"
    assert "Email" not in dict(card.fields)["Kind"] and dict(card.fields)["Kind"] == "email"


def test_a_short_note_is_not_taken_for_a_typo(engine, db, team):
    reply = say(engine, "UALICE", "Texted Li Na")
    assert not reply.error and dict(reply.fields)["Kind"] == "chat"
    assert "/crm find" in say(engine, "UALICE", "fnd li").text


def test_forgetting_a_customer_erases_the_notes_about_them(engine, db, team):
    say(engine, "UALICE", NOTE_EN)  # about Li Na, waiting
    say(engine, "UALICE", "Lunch with someone from Globex yesterday, they want a demo")  # Li Na a candidate
    other = say(engine, "UBOB", NOTE_ZH)  # about 王伟
    from crm.privacy import forget_customer
    from crm.models import Customer, Staff
    with db.session() as s:
        forget_customer(s, s.get(Customer, team.li), actor=s.get(Staff, team.admin), platform="console")
    with db.session() as s:
        left = s.exec(select(PendingNote)).all()
        assert [n.id for n in left] == [int(note_id(other).lstrip("#"))]
