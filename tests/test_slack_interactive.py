"""Buttons, modals, the "Log to CRM" shortcut and the App Home, pressed as Slack would press them:
every button and view used here is the one the bot really sent to the Web API stand-in."""
from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from bot.registry import COMMANDS, command
from bot.replies import Button, Item, Reply

from crm.models import Interaction, Task
from tests.helpers import utc
from tests.slack_harness import all_text, buttons


_serial = itertools.count(1)


def _card_button(bot, label: str, ref: str = "globex", user: str = "UALICE") -> dict:
    return buttons(bot.ask(f"show {ref}", user=user)["blocks"])[label]


def _interactions(db, customer_id: int) -> list[Interaction]:
    with db.session() as s:
        return list(s.exec(select(Interaction).where(Interaction.customer_id == customer_id)).all())


def test_log_interaction_button_opens_a_prefilled_modal_and_stores(slack_bot, db, team):
    sent = slack_bot.click(_card_button(slack_bot, "Log interaction"))
    assert sent.status == 200
    view = slack_bot.opened_view()
    assert view["callback_id"] == "crm_form_log"
    assert "Globex Corporation" in all_text(view) and "owner Alice Rep" in all_text(view)
    answer = slack_bot.submit(view, {"kind": "meeting", "date": "2026-11-22", "time": "16:00",
                                     "summary": "walked through the renewal, they sign friday"})
    assert answer.status == 200 and answer.json() is None  # closes the modal
    [row] = _interactions(db, team.globex)
    assert row.kind == "meeting"
    assert row.text == "walked through the renewal, they sign friday"  # "friday" is not taken as the date
    assert row.occurred_at == utc(2026, 11, 22, 21, 0)  # 16:00 in Alice's New York
    confirmation = slack_bot.fake.wait_for("response", where=lambda c: "Logged a meeting" in c.params["text"])
    assert confirmation[0].path.startswith("/response/act")  # back where the button was pressed


def test_log_modal_with_words_for_the_date(slack_bot, db, team):
    slack_bot.click(_card_button(slack_bot, "Log interaction"))
    slack_bot.submit(slack_bot.opened_view(), {"kind": "call", "when": "yesterday 4pm", "summary": "pricing"})
    [row] = _interactions(db, team.globex)
    assert row.occurred_at == utc(2026, 11, 22, 21, 0)


def test_log_modal_without_a_date_is_dated_now_and_keeps_the_summary(slack_bot, db, team, clock):
    slack_bot.click(_card_button(slack_bot, "Log interaction"))
    slack_bot.submit(slack_bot.opened_view(), {"kind": "call", "summary": "they sign friday"})
    [row] = _interactions(db, team.globex)
    assert row.text == "they sign friday"
    assert row.occurred_at == clock.now.replace(second=0, microsecond=0)


def test_log_modal_error_lands_on_the_field_and_stores_nothing(slack_bot, db, team):
    slack_bot.click(_card_button(slack_bot, "Log interaction"))
    view = slack_bot.opened_view()
    answer = slack_bot.submit(view, {"kind": "call", "when": "next week", "summary": "will call"})
    body = answer.json()
    assert body["response_action"] == "errors"
    assert "future" in body["errors"]["when"]
    empty = slack_bot.submit(view, {"kind": "call", "summary": ""})
    assert "summary" in empty.json()["errors"]
    assert _interactions(db, team.globex) == []


def test_add_follow_up_modal_creates_a_task(slack_bot, db, team):
    slack_bot.click(_card_button(slack_bot, "Add follow-up"))
    view = slack_bot.opened_view()
    assert view["callback_id"] == "crm_form_remind"
    missing = slack_bot.submit(view, {"what": "send the proposal"})
    assert set(missing.json()["errors"]) == {"when"}
    past = slack_bot.submit(view, {"date": "2026-11-01", "what": "send the proposal"})
    assert "past" in past.json()["errors"]["when"]
    ok = slack_bot.submit(view, {"when": "friday 10am", "what": "send the proposal"})
    assert ok.json() is None
    with db.session() as s:
        [task] = s.exec(select(Task).where(Task.customer_id == team.globex)).all()
        assert task.title == "send the proposal" and task.owner_id == team.alice
        assert task.due_at == utc(2026, 11, 27, 15, 0)  # Friday 10:00 in New York


def _make_task(db, team, title="call back", due=None) -> int:
    with db.session() as s:
        task = Task(customer_id=team.globex, owner_id=team.alice, title=title,
                    due_at=due or utc(2026, 11, 24, 15, 0))
        s.add(task)
        s.flush()
        return task.id


def test_done_button_completes_the_task(slack_bot, db, team):
    task_id = _make_task(db, team)
    done = buttons(slack_bot.ask("tasks")["blocks"])["Done"]
    assert done["value"] == f"done #{task_id}"
    sent = slack_bot.click(done)
    assert "Done" in all_text(slack_bot.answer(sent))
    with db.session() as s:
        assert s.get(Task, task_id).status == "done"


def test_done_button_runs_as_the_presser_so_roles_apply(slack_bot, db, team):
    task_id = _make_task(db, team)
    done = buttons(slack_bot.ask("tasks")["blocks"])["Done"]
    sent = slack_bot.click(done, user="UBOB")  # Bob (who reads Chinese) is not Alice's manager
    assert f"任务 #{task_id} 属于别人" in all_text(slack_bot.answer(sent))
    with db.session() as s:
        assert s.get(Task, task_id).status == "open"


def test_snooze_button_modal_choices(slack_bot, db, team, clock):
    task_id = _make_task(db, team)
    slack_bot.click(buttons(slack_bot.ask("tasks")["blocks"])["Snooze"])
    view = slack_bot.opened_view()
    assert view["callback_id"] == "crm_form_snooze" and "call back" in all_text(view)
    assert slack_bot.submit(view, {"choice": "1h"}).json() is None
    with db.session() as s:
        assert s.get(Task, task_id).due_at == clock.now + timedelta(hours=1)
    custom_missing = slack_bot.submit(view, {"choice": "custom"})
    assert "when" in custom_missing.json()["errors"]
    assert slack_bot.submit(view, {"choice": "custom", "when": "wednesday 10am"}).json() is None
    with db.session() as s:
        assert s.get(Task, task_id).due_at == utc(2026, 11, 25, 15, 0)  # 10:00 in New York


def test_long_task_lists_fold_buttons_into_menus_within_50_blocks(slack_bot, db, team):
    ids = [_make_task(db, team, f"task {n}", utc(2026, 11, 24, 15, 0) + timedelta(minutes=n)) for n in range(30)]
    answer = slack_bot.ask("tasks")
    assert len(answer["blocks"]) <= 50
    menus = buttons(answer["blocks"])
    sent = slack_bot.click(menus["⋯ Done"], option="Done")  # the first task's menu
    assert "Done" in all_text(slack_bot.answer(sent))
    with db.session() as s:
        assert s.get(Task, ids[0]).status == "done"


def _shortcut(bot, user="UALICE", ts="1763800000.000200", text="Globex asked for a *discount* &amp; a call"):
    return bot.interactive({
        "type": "message_action", "callback_id": "log_to_crm", "trigger_id": f"trig.sc.{next(_serial)}",
        "user": {"id": user, "username": user.lower(), "team_id": "T0FAKE"},
        "channel": {"id": "C0SALES", "name": "sales"}, "message_ts": ts,
        "message": {"type": "message", "user": "UCUSTOMERCHAT", "text": text, "ts": ts},
        "response_url": bot.fake.response_url(f"sc{ts}{user}")})


def test_log_to_crm_shortcut_stores_the_message_with_its_permalink_once(slack_bot, db, team):
    assert _shortcut(slack_bot).status == 200
    view = slack_bot.opened_view()
    assert view["callback_id"] == "crm_form_shortcut"
    summary = next(b for b in view["blocks"] if b.get("block_id") == "summary")
    assert summary["element"]["initial_value"] == "Globex asked for a *discount* & a call"

    options = slack_bot.interactive({"type": "block_suggestion", "action_id": "customer_search",
                                     "block_id": "customer", "value": "glob",
                                     "user": {"id": "UALICE", "team_id": "T0FAKE"}, "view": view}).json()
    labels = {o["text"]["text"]: o["value"] for o in options["options"]}
    globex = next(v for k, v in labels.items() if k.startswith("Globex Corporation"))
    assert globex == f"#{team.globex}" and any("owner Alice Rep" in k for k in labels)

    assert slack_bot.submit(view, {"customer": globex, "kind": "chat"}).json() is None
    [row] = _interactions(db, team.globex)
    assert row.kind == "chat" and row.source_message_id == "C0SALES:1763800000.000200"
    assert row.text.startswith("Globex asked for a *discount* & a call")
    assert "https://fake.slack.com/archives/C0SALES/p1763800000000200" in row.text
    posted_at = datetime.fromtimestamp(1763800000, timezone.utc).replace(second=0)
    assert row.occurred_at == posted_at  # when the message was written, not when it was logged

    _shortcut(slack_bot, user="UALICE", ts="1763800000.000200")  # logged again by mistake
    slack_bot.submit(slack_bot.opened_view(2), {"customer": globex, "kind": "chat"})
    assert len(_interactions(db, team.globex)) == 1


def test_shortcut_submission_without_a_customer_is_refused(slack_bot, db, team):
    _shortcut(slack_bot)
    answer = slack_bot.submit(slack_bot.opened_view(), {"kind": "chat"})
    assert "customer" in answer.json()["errors"]
    assert _interactions(db, team.globex) == []


def test_unknown_user_gets_no_shortcut_modal_and_no_options(slack_bot):
    sent = _shortcut(slack_bot, user="USTRANGER")
    assert "don't know you" in all_text(slack_bot.answer(sent))
    assert not slack_bot.fake.calls_to("views.open")
    options = slack_bot.interactive({"type": "block_suggestion", "action_id": "customer_search",
                                     "block_id": "customer", "value": "glob",
                                     "user": {"id": "USTRANGER", "team_id": "T0FAKE"},
                                     "view": {"id": "V1", "type": "modal", "callback_id": "crm_form_shortcut"}})
    assert options.json()["options"] == []


def test_app_home_shows_follow_ups_overdue_first_and_quiet_customers(slack_bot, db, team):
    later = _make_task(db, team, "send the contract", utc(2026, 11, 25, 15, 0))
    overdue = _make_task(db, team, "overdue call", utc(2026, 11, 20, 15, 0))
    slack_bot.ask("log li call 10 days ago quick check-in")  # Li Na is fresh; Globex never contacted
    assert slack_bot.event({"type": "app_home_opened", "user": "UALICE", "channel": "DALICE", "tab": "home",
                            "event_ts": "1.0"}).status == 200
    view = slack_bot.fake.wait_for("views.publish")[0].params
    assert view["user_id"] == "UALICE"
    text = all_text(view["view"])
    assert text.index("overdue call") < text.index("send the contract")
    assert "not contacted in 30+ days" in text
    quiet = text[text.index("not contacted"):].split("Recommended next")[0]
    assert "Globex Corporation" in quiet and "Li Na" not in quiet
    menus = buttons(view["view"]["blocks"])
    assert {"Done", "Snooze"} <= set(menus) or {"⋯ Done", "⋯ Snooze"} <= set(menus)

    done = menus.get("Done") or menus["⋯ Done"]
    slack_bot.click(done, home=True, option="Done" if done["type"] == "overflow" else None)
    republished = slack_bot.fake.wait_for("views.publish", 2)[1].params["view"]
    assert f"Done: #{overdue}" in all_text(republished)
    with db.session() as s:
        assert s.get(Task, overdue).status == "done" and s.get(Task, later).status == "open"


@pytest.fixture
def known_next_command():
    """A `next` command with a known answer, in place of whatever this build has (restored after)."""
    original = COMMANDS.get("next")

    @command("next", usage="next", summary="who to contact today", group="Insights")
    def next_command(ctx):
        return Reply(text="Call these today:", items=[Item("Initech (#2) · owner Bob Rep · renewal due",
                                                           [Button("Show", "show #2")])])

    yield
    if original is not None:
        COMMANDS["next"] = original
    else:
        COMMANDS.pop("next", None)


def test_app_home_shows_recommendations_when_next_exists(slack_bot, known_next_command):
    slack_bot.event({"type": "app_home_opened", "user": "UALICE", "channel": "DALICE", "tab": "home",
                     "event_ts": "1.0"})
    view = slack_bot.fake.wait_for("views.publish")[0].params["view"]
    text = all_text(view)
    assert "Recommended next" in text and "Initech (#2) · owner Bob Rep · renewal due" in text
    assert "Show" in buttons(view["blocks"])


def test_app_home_for_a_stranger_shows_no_customer_data(slack_bot):
    slack_bot.event({"type": "app_home_opened", "user": "USTRANGER", "channel": "D1", "tab": "home",
                     "event_ts": "1.0"})
    text = all_text(slack_bot.fake.wait_for("views.publish")[0].params["view"])
    assert "don't know you" in text
    assert "Globex" not in text and "Initech" not in text


def test_expired_trigger_id_gets_a_friendly_message(slack_bot, db, team):
    button = _card_button(slack_bot, "Add follow-up")
    slack_bot.fake.fail_next("views.open", error="expired_trigger_id")
    sent = slack_bot.click(button)
    assert sent.status == 200
    assert "took too long" in all_text(slack_bot.answer(sent))
    # and the next click works
    slack_bot.click(button)
    assert slack_bot.opened_view(2)["callback_id"] == "crm_form_remind"


def test_private_metadata_round_trips(slack_bot):
    slack_bot.click(_card_button(slack_bot, "Log interaction"))
    meta = json.loads(slack_bot.opened_view()["private_metadata"])
    assert meta["cmd"].startswith("log #") and meta["u"].startswith(slack_bot.fake.base)
