"""Every `/crm` command through the engine: happy paths, bad input, roles. SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from crm.models import AuditEvent, Customer, Deal, Interaction, InviteToken, Relationship, Task
from tests.helpers import say


def count(db, model, *conds) -> int:
    with db.session() as s:
        return len(s.exec(select(model).where(*conds)).all())


def snapshot(db) -> dict:
    """Row counts of every table a command could change (bad input must change none)."""
    return {m.__name__: count(db, m) for m in (Customer, Interaction, Task, Deal, Relationship, InviteToken)}


# --- help ---------------------------------------------------------------------------------

def test_help_lists_every_command_from_usage_text(engine, team):
    from bot.registry import COMMANDS

    text = say(engine, "UALICE", "/crm help").plain_text()
    for name, spec in COMMANDS.items():
        assert f"/crm {spec.usage}" in text, name


def test_help_for_one_command_shows_usage_and_examples(engine, team):
    reply = say(engine, "UALICE", "/crm help log")
    text = reply.plain_text()
    assert "/crm log <customer> call|email|meeting|chat|note [when] <summary>" in text
    assert "yesterday 4pm" in text


def test_help_unknown_command(engine, team):
    reply = say(engine, "UALICE", "/crm help frobnicate")
    assert reply.error and "frobnicate" in reply.text


def test_empty_command_shows_help(engine, team):
    assert "Here is what I can do" in say(engine, "UALICE", "/crm").text


def test_unknown_command_suggests_the_close_one(engine, team):
    reply = say(engine, "UALICE", "/crm shwo globex")
    assert reply.error and "/crm show" in reply.text


def test_chinese_user_gets_chinese_help(engine, team):
    assert "我可以做这些" in say(engine, "UBOB", "/crm help").text


# --- identity ------------------------------------------------------------------------------

def test_unknown_user_gets_no_data(engine, team):
    reply = say(engine, "USTRANGER", "/crm show globex")
    assert reply.error
    text = reply.plain_text()
    assert "Globex" not in text and "ops@globex" not in text and "don't know you" in text


def test_staff_added_by_email_is_linked_on_first_use(engine, db, team):
    from crm.models import Staff

    with db.session() as s:
        s.add(Staff(name="Eve Email", role="rep", email="eve@crm.example"))
    reply = say(engine, "UEVE", "/crm find glob", user_email="EVE@crm.example")
    assert not reply.error
    with db.session() as s:
        assert s.exec(select(Staff).where(Staff.name == "Eve Email")).one().slack_user_id == "UEVE"
    assert not say(engine, "UEVE", "/crm find glob").error  # linked for good


def test_inactive_staff_refused(engine, db, team):
    from crm.models import Staff

    with db.session() as s:
        bob = s.get(Staff, team.bob)
        bob.active = False
    assert say(engine, "UBOB", "/crm find glob").error


# --- add / find / show ---------------------------------------------------------------------

def test_add_customer_with_options(engine, db, team):
    reply = say(engine, "UALICE", '/crm add "Umbrella Corp" email=ceo@umbrella.example phone="+1 555 0100" '
                                  'company=Umbrella tier=gold tags=renewal,enterprise')
    assert not reply.error, reply.text
    assert "Umbrella Corp" in reply.text and "Alice Rep" in reply.text
    with db.session() as s:
        c = s.exec(select(Customer).where(Customer.name == "Umbrella Corp")).one()
        assert (c.email, c.tier, c.owner_id, c.phone_key) == ("ceo@umbrella.example", "gold", team.alice, "15550100")
    assert count(db, AuditEvent, AuditEvent.action == "customer.create") == 1


@pytest.mark.parametrize("line,fragment", [
    ("/crm add", "name"),
    ("/crm add Foo tier=platinum", "Tier must be one of"),
    ("/crm add Foo stage=dead", "Stage must be one of"),
    ("/crm add Foo email=not-an-email", "not an email address"),
    ("/crm add Foo colour=red", "I don't know the option `colour`"),
    ('/crm add "Foo Bar', "never closed"),
    ("/crm add Foo owner=@nobody", "No colleague"),
])
def test_add_bad_input_changes_nothing(engine, db, team, line, fragment):
    before = snapshot(db)
    reply = say(engine, "UALICE", line)
    assert reply.error and fragment in reply.text
    assert reply.usage is None or reply.usage.startswith("add")
    assert snapshot(db) == before


def test_rep_cannot_give_customer_to_someone_else_but_manager_can(engine, db, team):
    assert "manager role" in say(engine, "UALICE", "/crm add Foo owner=@UBOB").text
    reply = say(engine, "UMARIA", "/crm add Foo owner=@UBOB")
    assert not reply.error
    with db.session() as s:
        assert s.exec(select(Customer).where(Customer.name == "Foo")).one().owner_id == team.bob


def test_find_ranks_and_lists_with_owner(engine, team):
    reply = say(engine, "UALICE", "/crm find globex")
    assert [i.text.split(" (")[0] for i in reply.items] == ["Globex Corporation", "Li Na"]
    assert "owner Alice Rep" in reply.items[0].text
    assert reply.items[0].buttons[0].command == f"show #{team.globex}"


def test_find_chinese_and_nothing(engine, team):
    assert "王伟" in say(engine, "UBOB", "/crm find 王").items[0].text
    assert "No customer matches" in say(engine, "UALICE", "/crm find zzzzqqq").text
    assert say(engine, "UALICE", "/crm find").error


def test_show_card_has_fields_sections_and_buttons(engine, db, team, clock):
    say(engine, "UALICE", "/crm log globex call yesterday 4pm discussed renewal pricing")
    say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    say(engine, "UALICE", "/crm deal globex 12000 proposal")
    reply = say(engine, "UALICE", "/crm show globex")
    assert reply.text.startswith("Globex Corporation")
    fields = dict(reply.fields)
    assert fields["Owner"] == "Alice Rep" and fields["Tier"] == "vip"
    titles = [s.title for s in reply.sections]
    assert titles == ["Recent interactions", "Open follow-ups", "Open deals"]
    assert "discussed renewal pricing" in reply.sections[0].items[0].text
    assert [b.form for b in reply.buttons] == ["log", "remind"]
    assert not reply.public
    assert count(db, AuditEvent, AuditEvent.action == "customer.view") == 1


def test_show_public_and_by_id_and_quoted(engine, team):
    assert say(engine, "UALICE", "/crm show globex public").public
    assert say(engine, "UALICE", f"/crm show #{team.initech}").text.startswith("Initech")
    assert say(engine, "UALICE", '/crm show "Li Na"').text.startswith("Li Na")


def test_show_ambiguous_lists_candidates_instead_of_guessing(engine, db, team):
    from crm.customers import create_customer

    with db.session() as s:
        create_customer(s, "Globex Europe", company="Globex")
    reply = say(engine, "UALICE", "/crm show glob")
    assert reply.error and "several" in reply.text
    labels = [i.text for i in reply.items]
    assert any("Globex Corporation" in t for t in labels) and any("Globex Europe" in t for t in labels)
    assert all(i.buttons[0].command.startswith("show #") for i in reply.items)


def test_show_unknown_customer(engine, team):
    reply = say(engine, "UALICE", "/crm show nosuchperson")
    assert reply.error and "/crm add" in reply.text
    assert say(engine, "UALICE", "/crm show #9999").error
    assert say(engine, "UALICE", "/crm show").error


# --- log -----------------------------------------------------------------------------------

def test_log_finds_date_and_keeps_summary(engine, db, team, clock):
    reply = say(engine, "UALICE", "/crm log globex call yesterday 4pm discussed renewal pricing")
    assert not reply.error, reply.text
    with db.session() as s:
        row = s.exec(select(Interaction)).one()
        # Alice is in New York: yesterday 4pm there is 21:00 UTC on the 22nd
        assert row.occurred_at == datetime(2026, 11, 22, 21, 0, tzinfo=timezone.utc)
        assert (row.kind, row.text, row.staff_id, row.direction) == ("call", "discussed renewal pricing",
                                                                     team.alice, "outbound")
        assert s.get(Customer, team.globex).last_contact_at == row.occurred_at


def test_log_without_date_is_now_and_chinese(engine, db, team, clock):
    assert not say(engine, "UBOB", "/crm log 王伟 电话 讨论续约价格").error
    with db.session() as s:
        row = s.exec(select(Interaction)).one()
        assert (row.kind, row.text, row.occurred_at) == ("call", "讨论续约价格", clock.now)


def test_log_chinese_date(engine, db, team):
    assert not say(engine, "UBOB", "/crm log 王伟 call 昨天下午4点 讨论续约价格").error
    with db.session() as s:
        row = s.exec(select(Interaction)).one()
        # Bob is in Shanghai (UTC+8): 22 Nov 16:00 local
        assert row.occurred_at == datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
        assert row.text == "讨论续约价格"


def test_log_same_platform_message_twice_stores_once(engine, db, team):
    for _ in range(2):
        say(engine, "UALICE", "/crm log globex note met at the fair", message_id="trigger-1")
    assert count(db, Interaction) == 1


@pytest.mark.parametrize("line,fragment", [
    ("/crm log", "who and what kind"),
    ("/crm log globex", "who and what kind"),
    ("/crm log globex dance fun times", "not a kind"),
    ("/crm log nobodyatall call hi", "No customer matches"),
    ("/crm log globex call tomorrow 3pm plan", "in the future"),
])
def test_log_bad_input_changes_nothing(engine, db, team, line, fragment):
    before = snapshot(db)
    reply = say(engine, "UALICE", line)
    assert reply.error and fragment in reply.text, reply.text
    assert snapshot(db) == before


# --- remind / tasks / done / snooze ----------------------------------------------------------

def test_remind_creates_task_in_users_zone(engine, db, team):
    reply = say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    assert not reply.error, reply.text
    with db.session() as s:
        task = s.exec(select(Task)).one()
        assert task.due_at == datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)  # 15:00 New York
        assert (task.title, task.owner_id, task.customer_id) == ("send the proposal", team.alice, team.globex)


def test_remind_chinese(engine, db, team):
    assert not say(engine, "UBOB", "/crm remind 王伟 下周五下午2点 回电话").error
    with db.session() as s:
        task = s.exec(select(Task)).one()
        assert task.due_at == datetime(2026, 12, 4, 6, 0, tzinfo=timezone.utc)  # Fri 4 Dec 14:00 Shanghai
        assert task.title == "回电话"


@pytest.mark.parametrize("line,fragment", [
    ("/crm remind globex", "Tell me who"),
    ("/crm remind globex send the proposal", "couldn't find when"),
    ("/crm remind globex tomorrow 3pm", "Remind about what"),
    ("/crm remind globex yesterday 3pm call", "already past"),
    ("/crm remind globex 31 February send the invoice", "February has no 31st"),
    ("/crm remind globex 2月30日 发送发票", "2月没有30日"),
])
def test_remind_bad_input_changes_nothing(engine, db, team, line, fragment):
    before = snapshot(db)
    reply = say(engine, "UALICE", line)
    assert reply.error and fragment in reply.text, reply.text
    assert snapshot(db) == before


def test_remind_end_of_month_on_its_last_day(engine, db, team, clock):
    clock.now = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)  # 10:00 on 30 November in New York
    reply = say(engine, "UALICE", "/crm remind globex end of month send the invoice")
    assert not reply.error, reply.text
    with db.session() as s:
        task = s.exec(select(Task)).one()
        assert task.due_at == datetime(2026, 12, 31, 14, 0, tzinfo=timezone.utc)  # 09:00 New York
        assert task.title == "send the invoice"


def test_tasks_done_snooze_flow(engine, db, team, clock):
    say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    say(engine, "UALICE", "/crm remind #%d in 2 hours call back" % team.li)
    listing = say(engine, "UALICE", "/crm tasks")
    assert "2 open follow-up(s)" in listing.text
    assert "call back" in listing.items[0].text  # soonest first
    with db.session() as s:
        first, second = sorted(s.exec(select(Task)).all(), key=lambda t: t.due_at)
    assert [b.command for b in listing.items[0].buttons][0] == f"done #{first.id}"
    reply = say(engine, "UALICE", f"/crm snooze #{first.id} tomorrow 9am")
    assert not reply.error, reply.text
    with db.session() as s:
        assert s.get(Task, first.id).due_at == datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)
    assert "Done" in say(engine, "UALICE", "/crm done proposal").text
    with db.session() as s:
        assert s.get(Task, second.id).status == "done"
    assert "already done" in say(engine, "UALICE", f"/crm done #{second.id}").text


def test_snooze_shortcuts_and_overdue_marking(engine, db, team, clock):
    say(engine, "UALICE", "/crm remind globex in 1 hour call")
    with db.session() as s:
        task = s.exec(select(Task)).one()
    clock.now += timedelta(hours=3)
    assert "1 overdue" in say(engine, "UALICE", "/crm tasks").text
    say(engine, "UALICE", f"/crm snooze #{task.id} 1h")
    with db.session() as s:
        assert s.get(Task, task.id).due_at == clock.now + timedelta(hours=1)


def test_snooze_to_a_day_the_calendar_lacks_says_so(engine, db, team):
    say(engine, "UALICE", "/crm remind globex in 1 hour call")
    with db.session() as s:
        task = s.exec(select(Task)).one()
        due = task.due_at
    reply = say(engine, "UALICE", f"/crm snooze #{task.id} april 31")
    assert reply.error and "April has no 31st" in reply.text, reply.text
    with db.session() as s:
        assert s.get(Task, task.id).due_at == due


def test_tasks_are_private_to_owner_and_manager(engine, db, team):
    say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    with db.session() as s:
        task = s.exec(select(Task)).one()
    assert say(engine, "UBOB", f"/crm done #{task.id}").error
    assert say(engine, "UBOB", "/crm tasks @UALICE").error
    assert "1 open" in say(engine, "UMARIA", "/crm tasks @UALICE").text
    assert not say(engine, "UMARIA", f"/crm done #{task.id}").error


@pytest.mark.parametrize("line", ["/crm done", "/crm done #999", "/crm snooze", "/crm snooze #1",
                                  "/crm snooze #1 banana", "/crm done nothing-matches"])
def test_task_commands_bad_input(engine, db, team, line):
    say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    with db.session() as s:
        before = [(t.status, t.due_at) for t in s.exec(select(Task)).all()]
    assert say(engine, "UALICE", line).error
    with db.session() as s:
        assert [(t.status, t.due_at) for t in s.exec(select(Task)).all()] == before


# --- deal / link ---------------------------------------------------------------------------

def test_deal_open_then_move(engine, db, team, clock):
    assert "Opened deal" in say(engine, "UALICE", "/crm deal globex 12000 proposal").text
    clock.now += timedelta(days=2)
    reply = say(engine, "UALICE", "/crm deal globex 15k negotiation close=2026-12-15")
    assert "Updated deal" in reply.text and "$15,000" in reply.text
    with db.session() as s:
        deal = s.exec(select(Deal)).one()
        assert (deal.amount, deal.stage, str(deal.expected_close)) == (15000, "negotiation", "2026-12-15")
        assert deal.stage_changed_at == clock.now
    say(engine, "UALICE", "/crm deal globex 15000 won")
    with db.session() as s:
        assert s.exec(select(Deal)).one().closed_at == clock.now


@pytest.mark.parametrize("line,fragment", [
    ("/crm deal globex", "customer and the amount"),
    ("/crm deal globex lots", "not an amount"),
    ("/crm deal globex 100 close=someday", "close= needs a date"),
    ("/crm deal initech 100", "belongs to Bob Rep"),
])
def test_deal_bad_input(engine, db, team, line, fragment):
    before = snapshot(db)
    reply = say(engine, "UALICE", line)
    assert reply.error and fragment in reply.text, reply.text
    assert snapshot(db) == before


def test_link_and_update(engine, db, team):
    assert "Linked" in say(engine, "UMARIA", "/crm link globex initech referred").text
    assert "Updated" in say(engine, "UMARIA", "/crm link globex initech referred strength=0.9").text
    with db.session() as s:
        rel = s.exec(select(Relationship)).one()
        assert (rel.from_customer_id, rel.to_customer_id, rel.kind, rel.strength) == (team.globex, team.initech,
                                                                                      "referred", 0.9)


@pytest.mark.parametrize("line,fragment", [
    ("/crm link globex initech", "Name two customers"),
    ("/crm link globex initech enemies", "not a relationship"),
    ("/crm link globex globex knows", "same customer"),
    ("/crm link globex initech knows strength=7", "strength="),
])
def test_link_bad_input(engine, db, team, line, fragment):
    before = snapshot(db)
    reply = say(engine, "UALICE", line)
    assert reply.error and fragment in reply.text
    assert snapshot(db) == before


# --- invite / privacy / audit ----------------------------------------------------------------

def test_invite_makes_a_token_link(engine, db, team):
    engine.ports.telegram_bot_username = "AcmeCRMBot"
    reply = say(engine, "UALICE", "/crm invite globex")
    link = dict(reply.fields)["Link"]
    with db.session() as s:
        token = s.exec(select(InviteToken)).one()
    assert link == f"https://t.me/AcmeCRMBot?start={token.token}"
    assert token.customer_id == team.globex and len(token.token) <= 64


def test_export_is_admin_only_and_complete(engine, db, team):
    say(engine, "UALICE", "/crm log globex call discussed pricing")
    assert "admin role" in say(engine, "UALICE", "/crm export globex").text
    reply = say(engine, "UADA", "/crm export globex")
    data = json.loads(open(reply.file_path, encoding="utf-8").read())
    assert data["customer"]["email"] == "ops@globex.example"
    assert data["interactions"][0]["text"] == "discussed pricing"


def test_forget_needs_confirmation_then_erases(engine, db, team):
    say(engine, "UALICE", "/crm log globex call discussed pricing with ops@globex.example")
    ask = say(engine, "UADA", "/crm forget globex")
    assert ask.buttons[0].command == f"forget #{team.globex} confirm" and ask.buttons[0].confirm
    with db.session() as s:
        assert s.get(Customer, team.globex).forgotten_at is None
    done = say(engine, "UADA", ask.buttons[0].command)
    assert "Erased" in done.text
    with db.session() as s:
        c = s.get(Customer, team.globex)
        assert c.email is None and c.name == f"Erased customer #{team.globex}" and c.forgotten_at
        assert s.exec(select(Interaction)).one().text == ""
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "customer.forget")).one()
    assert "Globex Corporation" not in say(engine, "UALICE", "/crm find globex").plain_text()
    assert say(engine, "UALICE", f"/crm show #{team.globex}").error


def test_audit_trail_for_admins(engine, team):
    say(engine, "UALICE", "/crm show globex")
    assert say(engine, "UALICE", "/crm audit globex").error
    reply = say(engine, "UADA", "/crm audit globex")
    assert any("Alice Rep via slack · customer.view" in i.text for i in reply.items)


# --- the rest of the contract answers cleanly --------------------------------------------------

@pytest.mark.parametrize("line", ["/crm similar globex", "/crm next", "/crm intro globex", "/crm insights",
                                  "/crm graph globex", "/crm digest", "/crm stats", "/crm campaign preview x"])
def test_later_commands_answer_cleanly(engine, team, line):
    reply = say(engine, "UMARIA", line)
    assert reply.text and "went wrong" not in reply.text


def test_handler_crash_becomes_apology(engine, team, monkeypatch):
    from bot.registry import COMMANDS

    def boom(ctx):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(COMMANDS["find"], "handler", boom)
    reply = say(engine, "UALICE", "/crm find glob")
    assert reply.error and "Sorry, something went wrong" in reply.text and "exploded" not in reply.text


def test_overlong_command_is_refused_politely(engine, db, team):
    reply = say(engine, "UALICE", "/crm log globex note " + "x" * 20000)
    assert reply.error and "limit" in reply.text
    assert count(db, Interaction) == 0
