"""Signatures, stale requests, retries, strangers, Slack's rate limits and failures."""
from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.app import App
from bot.registry import COMMANDS, command
from bot.replies import Reply
from crm.models import Customer, ProcessedEvent, Staff
from tests.slack_harness import SECRET, Server, SlackBot, all_text, buttons, free_port


def _customers_named(db, name: str) -> int:
    with db.session() as s:
        return len(s.exec(select(Customer).where(Customer.name == name)).all())


def test_bad_signature_is_401_and_runs_nothing(slack_bot, db):
    sent = slack_bot.command('add "Mallory Inc"', user="UADA", secret="not-the-secret")
    assert sent.status == 401
    slack_bot.ask("help")  # a good request afterwards is answered, so the bad one had its chance
    assert _customers_named(db, "Mallory Inc") == 0
    assert len(slack_bot.fake.calls_to("response")) == 1


def test_unsigned_request_is_401(slack_bot, db):
    body = urlencode({"command": "/crm", "text": 'add "Mallory Inc"', "user_id": "UADA"})
    r = slack_bot.http.post(slack_bot.url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 401
    assert _customers_named(db, "Mallory Inc") == 0


def test_stale_timestamp_is_401_even_with_a_valid_signature(slack_bot, db):
    sent = slack_bot.command('add "Replay Ltd"', user="UADA", timestamp=int(time.time()) - 6 * 60)
    assert sent.status == 401
    slack_bot.ask("help")
    assert _customers_named(db, "Replay Ltd") == 0


def test_url_verification_challenge(slack_bot):
    r = slack_bot.post('{"type": "url_verification", "challenge": "abc123", "token": "x"}', "application/json")
    assert r.status_code == 200 and "abc123" in r.text


def _home_event(bot, event_id: str, retry_num: int | None = None):
    return bot.event({"type": "app_home_opened", "user": "UALICE", "channel": "DALICE", "tab": "home",
                      "event_ts": "1.0"}, event_id=event_id, retry_num=retry_num)


def test_slack_retry_of_a_processed_event_is_acked_and_ignored(slack_bot, db):
    assert _home_event(slack_bot, "Ev0RETRY").status == 200
    slack_bot.fake.wait_for("views.publish")
    assert _home_event(slack_bot, "Ev0RETRY", retry_num=1).status == 200
    assert _home_event(slack_bot, "Ev0OTHER").status == 200  # a new event still works...
    slack_bot.fake.wait_for("views.publish", 2)
    assert len(slack_bot.fake.calls_to("views.publish")) == 2  # ...and the retry did nothing
    with db.session() as s:
        claimed = {e.event_id for e in s.exec(select(ProcessedEvent).where(ProcessedEvent.platform == "slack"))}
    assert {"event:Ev0RETRY", "event:Ev0OTHER"} <= claimed


def test_retry_reaching_another_instance_is_ignored_too(slack_bot, db, settings, clock, slack_api):
    _home_event(slack_bot, "Ev0SHARED")
    slack_bot.fake.wait_for("views.publish")
    other = App(slack_bot.app.settings, db, clock=clock, instance="second")
    other.configure_adapters()
    port = free_port()
    server = Server(other.asgi(), port).start()
    try:
        second = SlackBot(other, slack_api, port)
        assert _home_event(second, "Ev0SHARED", retry_num=2).status == 200
        assert _home_event(second, "Ev0FRESH").status == 200
        slack_api.wait_for("views.publish", 2)
        assert len(slack_api.calls_to("views.publish")) == 2
        second.close()
    finally:
        server.stop()


def test_repeated_button_delivery_acts_once(slack_bot):
    button = buttons(slack_bot.ask("show globex")["blocks"])["Log interaction"]
    payload = {"type": "block_actions", "user": {"id": "UALICE", "team_id": "T0FAKE"}, "trigger_id": "trig.same",
               "container": {"type": "message", "channel_id": "C0SALES", "message_ts": "1.1"},
               "channel": {"id": "C0SALES"}, "response_url": slack_bot.fake.response_url("dup"),
               "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button",
                            "block_id": "b", "action_ts": "1.2"}]}
    assert slack_bot.interactive(dict(payload)).status == 200
    slack_bot.fake.wait_for("views.open")
    assert slack_bot.interactive(dict(payload)).status == 200
    slack_bot.ask("help")
    assert len(slack_bot.fake.calls_to("views.open")) == 1


def test_unknown_user_is_refused_without_customer_data(slack_bot):
    for line in ("show globex", "find glob", "tasks", "show globex public"):
        answer = slack_bot.ask(line, user="USTRANGER")
        text = all_text(answer)
        assert "don't know you" in text
        assert "Globex" not in text and "ops@globex" not in text
        assert answer["response_type"] == "ephemeral"
    # users.info was asked once; the "no such person" answer is remembered briefly
    assert len(slack_bot.fake.calls_to("users.info")) == 1


def test_staff_added_with_only_an_email_is_linked_on_first_use(slack_bot, db):
    with db.session() as s:
        s.add(Staff(name="Nina New", role="rep", email="nina@crm.example", timezone="UTC"))
    slack_bot.fake.add_user("UNINA", email="Nina@CRM.example", name="Nina New")
    answer = slack_bot.ask("show globex", user="UNINA")
    assert "Globex Corporation" in all_text(answer)
    with db.session() as s:
        assert s.exec(select(Staff).where(Staff.name == "Nina New")).one().slack_user_id == "UNINA"
    slack_bot.ask("tasks", user="UNINA")
    assert len(slack_bot.fake.calls_to("users.info")) == 1  # known from now on
    assert all(c.params["user"] == "UNINA" for c in slack_bot.fake.calls_to("users.info"))


def test_known_users_never_trigger_users_info(slack_bot):
    slack_bot.ask("show globex", user="UALICE")
    assert slack_bot.fake.calls_to("users.info") == []


def test_someone_elses_email_does_not_steal_a_linked_account(slack_bot):
    slack_bot.fake.add_user("UIMPOSTOR", email="alice@crm.example")  # Alice is already UALICE
    assert "don't know you" in all_text(slack_bot.ask("show globex", user="UIMPOSTOR"))


def test_ratelimited_dm_is_retried_after_retry_after_and_delivered_once(slack_bot, db, team):
    slack_bot.fake.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    with db.session() as s:
        alice = s.get(Staff, team.alice)
    platform = asyncio.run(slack_bot.app.delivery.to_staff(alice, Reply(text="Your digest is ready")))
    assert platform == "slack"
    posts = slack_bot.fake.calls_to("chat.postMessage")
    assert [p.error for p in posts] == ["ratelimited", None]
    assert posts[1].params["channel"] == "DALICE" and posts[1].params["text"] == "Your digest is ready"


def test_ratelimited_home_publish_is_retried(slack_bot):
    slack_bot.fake.fail_next("views.publish", error="ratelimited", status=429, retry_after=1)
    _home_event(slack_bot, "Ev0LIMIT")
    published = slack_bot.fake.wait_for("views.publish", 2)
    assert [p.error for p in published] == ["ratelimited", None]


@pytest.fixture
def exploding_command():
    @command("explode", usage="explode", summary="test only: always fails")
    def explode(ctx):
        raise RuntimeError("boom: secret internals")

    yield
    COMMANDS.pop("explode", None)


@pytest.fixture
def slow_command():
    release = threading.Event()

    @command("slowpoke", usage="slowpoke", summary="test only: waits until released")
    def slowpoke(ctx):
        release.wait(20)
        return Reply(text="finally done")

    yield release
    release.set()
    COMMANDS.pop("slowpoke", None)


def test_ack_returns_before_the_work_finishes(slack_bot, slow_command):
    sent = slack_bot.command("slowpoke")
    assert sent.status == 200 and sent.body == ""  # answered while the command is still blocked
    assert slack_bot.fake.calls_to("response") == []
    slow_command.set()
    assert slack_bot.answer(sent)["text"] == "finally done"


def test_handler_exception_becomes_an_apology_and_the_ack_is_200(slack_bot, exploding_command, caplog):
    sent = slack_bot.command("explode")
    assert sent.status == 200
    text = all_text(slack_bot.answer(sent))
    assert "Sorry, something went wrong" in text and "ref " in text
    assert "boom" not in text and "Traceback" not in text
    assert any(r.exc_info and "boom: secret internals" in str(r.exc_info[1]) for r in caplog.records)


def test_slack_api_failure_after_the_ack_becomes_an_apology(slack_bot):
    slack_bot.fake.fail_next("conversations.open", error="fatal_error")  # the export can't reach the DM
    sent = slack_bot.command("export globex", user="UADA")
    assert sent.status == 200
    text = all_text(slack_bot.answer(sent))
    assert "Sorry, something went wrong" in text and "fatal_error" not in text
    assert not slack_bot.fake.calls_to("files.getUploadURLExternal")


def test_broken_response_url_falls_back_to_a_dm(slack_bot):
    slack_bot.fake.fail_next("response", status=404)
    slack_bot.command("show globex")
    dm = slack_bot.fake.wait_for("chat.postMessage")[0]
    assert dm.params["channel"] == "DALICE" and "Globex Corporation" in all_text(dm.params)


def test_the_last_resort_apology_is_in_the_readers_language(slack_bot, db):
    """The apology after the ack reads their language like every other reply (it was English only)."""
    from crm.models import Staff
    from sqlmodel import select

    with db.session() as session:
        ada = session.exec(select(Staff).where(Staff.slack_user_id == "UADA")).one()
        ada.language = "zh"
        session.add(ada)
        session.commit()
    slack_bot.fake.fail_next("conversations.open", error="fatal_error")
    sent = slack_bot.command("export globex", user="UADA")
    text = all_text(slack_bot.answer(sent))
    assert "抱歉" in text and "编号" in text and "Sorry" not in text, text
    assert "fatal_error" not in text
