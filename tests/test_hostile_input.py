"""Hostile and broken input: the CSV import, Slack requests and Telegram updates.

Arbitrary text (emoji, Chinese, null bytes, 40,000 characters), malformed JSON and form
bodies, unknown event and update types. The promises checked here: never a 5xx and never a
traceback reaching a user; bad input gets a clear answer (a 4xx, a UserError with a message,
a reported CSV line); good input is kept; nothing is half-written in the store.
"""
from __future__ import annotations

import csv
import io
import json
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings as hsettings, strategies as st
from sqlalchemy import func
from sqlmodel import select

from bot.errors import UserError
from crm.importer import import_customers
from crm.models import AuditEvent, Customer, Interaction, ProcessedEvent

FIXTURES_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# ---- text that breaks naive code ---------------------------------------------------------------

NASTY = ["王伟", "李娜 (华为)", "😀🚀👩‍💻", "\x00", "a\x00b", "Ünïcødé", "ﬃ", "ß" * 150, "\u200b", "\u202eevil",
         "<b>&amp;</b>", "'; DROP TABLE customer; --", "\r\n", "\"", "\\", "%s%n", "${jndi:x}", " " * 5,
         "\ufeff", "🇨🇳" * 30, "x" * 40_000]
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
nasty_text = st.one_of(any_text, st.sampled_from(NASTY),
                       st.builds(lambda a, b: a + b, st.sampled_from(NASTY), any_text))


def store_counts(db) -> tuple[int, int, int]:
    with db.session() as s:
        customers = s.exec(select(func.count()).select_from(Customer)).one()
        audits = s.exec(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "customer.import")).one()
        interactions = s.exec(select(func.count()).select_from(Interaction)).one()
    return customers, audits, interactions


# ---- CSV import ---------------------------------------------------------------------------------

HEADERS = [["name", "company", "email", "phone", "tier", "stage", "tags", "language"],
           ["Full Name", "Organisation", "E-mail", "Mobile", "Tier", "Stage", "Tags", "Language"],
           ["姓名", "公司", "邮箱", "电话", "tier", "stage", "标签", "language"]]


@st.composite
def good_row(draw, serial: str, index: int) -> tuple[list[str], str]:
    """A row the import must keep; returns (cells, the name as stored)."""
    core = draw(st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Nd", "So")),
                        min_size=1, max_size=30))
    noise = draw(st.sampled_from(["", "\x00", " 😀", " 王", "\u3000"]))
    # "ß" * 200 is 200 characters, but 400 once casefolded for lookups
    name = draw(st.sampled_from([core + noise, noise + core, f"  {core} ", "ß" * 200, "ﬃ" * 199 + core[:1]]))
    stored = " ".join(name.replace("\x00", "").split())
    assume(stored and len(name.replace("\x00", "").strip()) <= 200)
    # companies and phones unique to the row: a repeated phone, or a like name at the same company, is a
    # likely duplicate that the import rightly skips (tests/test_add_duplicates.py)
    unique = f"{serial}{index}"
    company = draw(st.sampled_from(["", f"华为技术 {unique}", f"Globex & Co {unique}", f"😀 Inc {unique}",
                                    "x" * (200 - len(unique)) + unique]))
    email = draw(st.sampled_from(["", f"row{index}.{serial}@example.test"]))
    digits = f"{int(serial[:8], 16) % 10**8:08d}{index:02d}"
    phone = draw(st.sampled_from(["", f"+86 138 {digits}", f"(555) {digits} ext 7"]))
    tier = draw(st.sampled_from(["", "VIP", "gold", "standard"]))
    stage = draw(st.sampled_from(["", "Lead", "active"]))
    tags = draw(st.sampled_from(["", "a,b", "标签,😀"]))
    language = draw(st.sampled_from(["", "en", "ZH"]))
    cells = [name, company, email, phone, tier, stage, tags, language]
    width = draw(st.sampled_from([8, 8, 1, 3, 12]))  # short and long rows: missing cells are empty
    cells = (cells + ["extra"] * 4)[:width]
    return cells, stored


def bad_row(index: int, serial: str):
    """Rows the import must refuse, each with a clear reason."""
    long = "x" * 40_000
    return st.sampled_from([
        ["", "Nameless Inc", f"nameless{index}.{serial}@example.test"],
        ["Bad Email", "", "not an email"],
        ["Bad Tier", "", "", "", "platinum"],
        ["Bad Stage", "", "", "", "", "dormant"],
        ["Bad Language", "", "", "", "", "", "", "klingon"],
        [long],
        ["Long Company", long],
        ["Long Phone", "", "", "5" * 300],
        ["Long Tags", "", "", "", "", "", ",".join(["t"] * 2000)],
        ["Long Email", "", "a" * 300 + f"{index}@example.test"],
    ])


@st.composite
def csv_file(draw) -> tuple[bytes, list[str], int]:
    """(file bytes, names of the good rows, how many bad rows) with rows in any order."""
    serial = uuid.uuid4().hex[:10]
    header = draw(st.sampled_from(HEADERS))
    rows, good, bad = [], [], 0
    for i in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 9)) == 0:
            rows.append(draw(st.sampled_from([[], ["\x00 \x00"], ["", "", ""], [" \u3000 "]])))  # blank: skipped quietly
        elif draw(st.booleans()):
            cells, stored = draw(good_row(serial, i))
            rows.append(cells)
            good.append(stored)
        else:
            rows.append(draw(bad_row(i, serial)))
            bad += 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig"]))
    return out.getvalue().encode(encoding), good, bad


def run_import(db, tmp_path, data: bytes):
    path = tmp_path / f"import-{uuid.uuid4().hex[:8]}.csv"
    path.write_bytes(data)
    try:
        return import_customers(db, path)
    finally:
        path.unlink()


@hsettings(max_examples=25, deadline=None, suppress_health_check=FIXTURES_OK)
@given(data=csv_file())
def test_csv_good_rows_are_kept_and_bad_rows_reported(db, tmp_path, data):
    raw, good, bad = data
    before = store_counts(db)
    report = run_import(db, tmp_path, raw)
    after = store_counts(db)
    assert report.imported == len(good), report.errors
    assert report.skipped == bad, report.errors
    assert all(problem and len(problem) < 300 for _, problem in report.errors)
    assert after[0] - before[0] == report.imported  # no row written twice, none half-written
    assert after[1] - before[1] == report.imported  # every imported row audited
    if good:
        with db.session() as s:
            stored = s.exec(select(Customer.name).order_by(Customer.id.desc()).limit(len(good))).all()
        assert sorted(stored) == sorted(good)


garbage_tail = st.one_of(
    st.text(max_size=200),
    st.sampled_from(['"never closed,\nsecond line', 'a,"b""c,d', '"x"y,z', "\x00\x00\x00", "a,b\rc,d",
                     '"' * 7, "name\n" * 5, ",,,,,,,,,,,,,,,,,,,,", "\t\t\t"]),
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=FIXTURES_OK)
@given(data=csv_file(), tail=garbage_tail)
def test_csv_broken_tail_never_raises_and_keeps_what_came_before(db, tmp_path, data, tail):
    raw, good, _ = data
    before = store_counts(db)
    report = run_import(db, tmp_path, raw + tail.encode("utf-8"))
    after = store_counts(db)
    assert report.imported >= len(good)
    assert after[0] - before[0] == report.imported
    assert after[1] - before[1] == report.imported


@sqlite_only
@hsettings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_OK)
@given(raw=st.one_of(st.binary(max_size=3000),
                     st.builds(lambda b: b"name,email\n" + b, st.binary(max_size=3000)),
                     st.builds(lambda b: b"\xef\xbb\xbf\xe5\xa7\x93\xe5\x90\x8d\n" + b, st.binary(max_size=500))))
def test_csv_arbitrary_bytes_give_a_report_or_a_clear_error(db, tmp_path, raw):
    before = store_counts(db)
    try:
        report = run_import(db, tmp_path, raw)
    except UserError as err:
        assert err.message and "Traceback" not in err.message
        assert store_counts(db) == before
        return
    assert store_counts(db)[0] - before[0] == report.imported


def test_csv_cell_past_the_csv_field_limit_stops_reading_but_keeps_earlier_rows(db, tmp_path):
    raw = ("name,email\nKept Before,kept@example.test\n"
           f"Huge,\"{'y' * 200_000}\"\nAfter,after@example.test\n").encode()
    before = store_counts(db)
    report = run_import(db, tmp_path, raw)
    assert report.imported == 1
    assert "the rest of the file was not read" in report.errors[-1][1]
    assert store_counts(db)[0] - before[0] == 1


def test_csv_without_a_name_column_changes_nothing(db, tmp_path):
    before = store_counts(db)
    with pytest.raises(UserError, match="needs a 'name' column"):
        run_import(db, tmp_path, "company,email\n王伟,x@y.example\n".encode())
    assert store_counts(db) == before


# ---- Slack requests -----------------------------------------------------------------------------

from tests.slack_harness import all_text  # noqa: E402

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=15)
SLACK_TYPES = ["block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion",
               "event_callback", "url_verification", "app_rate_limited", "interactive_message", "dialog_submission",
               "workflow_step_edit", "nonsense", ""]
slack_shaped = st.fixed_dictionaries(
    {"type": st.sampled_from(SLACK_TYPES)},
    optional={"user": st.one_of(st.fixed_dictionaries({"id": st.sampled_from(["UALICE", "UNOBODY", ""])}),
                                json_values),
              "trigger_id": nasty_text, "actions": json_values, "view": json_values, "event": json_values,
              "event_id": nasty_text, "response_url": nasty_text, "callback_id": nasty_text, "team": json_values,
              "channel": json_values, "message": json_values, "container": json_values, "value": nasty_text})


def refused_or_ok(status: int) -> bool:
    return 200 <= status < 300 or 400 <= status < 500


@pytest.mark.slow
@sqlite_only
@hsettings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_OK)
@given(form=st.one_of(
    st.dictionaries(st.sampled_from(["command", "text", "user_id", "trigger_id", "response_url", "payload",
                                     "ssl_check", "channel_id", "team_id", "token"]) | st.text(max_size=10),
                    nasty_text, max_size=8),
    st.fixed_dictionaries({"command": st.sampled_from(["/crm", "/other", "", "/CRM"]), "text": nasty_text},
                          optional={"user_id": st.sampled_from(["UALICE", "", "U\x00"])})),
    raw=st.one_of(st.none(), st.text(max_size=300)))
def test_slack_signed_arbitrary_form_bodies_never_get_a_5xx(slack_bot, form, raw):
    body = raw if raw is not None else urlencode(form)
    response = slack_bot.post(body, "application/x-www-form-urlencoded")
    assert refused_or_ok(response.status_code), (response.status_code, response.text)
    assert "Traceback" not in response.text


@pytest.mark.slow
@sqlite_only
@hsettings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_OK)
@given(payload=st.one_of(slack_shaped.map(json.dumps), json_values.map(json.dumps), nasty_text,
                         st.sampled_from(["{", "[1,", '{"type": "block_actions"', "null", "\x00", "{}" * 500])))
def test_slack_arbitrary_interactivity_payloads_never_get_a_5xx(slack_bot, payload):
    response = slack_bot.post(urlencode({"payload": payload}), "application/x-www-form-urlencoded")
    assert refused_or_ok(response.status_code), (response.status_code, payload[:200], response.text)
    assert "Traceback" not in response.text


@pytest.mark.slow
@sqlite_only
@hsettings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_OK)
@given(body=st.one_of(
    st.builds(lambda event, kind, eid: json.dumps({"type": kind, "event": event, "event_id": eid,
                                                   "team_id": "T0FAKE", "api_app_id": "A0FAKE"}),
              st.one_of(json_values, st.fixed_dictionaries(
                  {"type": st.sampled_from(["message", "app_home_opened", "reaction_added", "team_join",
                                            "emoji_changed", "made_up_event", ""])},
                  optional={"user": nasty_text, "text": nasty_text, "channel": nasty_text,
                            "thread_ts": nasty_text, "ts": nasty_text, "subtype": nasty_text, "tab": nasty_text})),
              st.sampled_from(["event_callback", "app_rate_limited", "made_up"]), nasty_text),
    json_values.map(json.dumps), nasty_text))
def test_slack_arbitrary_json_events_never_get_a_5xx(slack_bot, body):
    response = slack_bot.post(body, "application/json")
    assert refused_or_ok(response.status_code), (response.status_code, body[:200], response.text)
    assert "Traceback" not in response.text


def slack_counts(db) -> tuple[int, int, int]:
    from crm.models import Task

    with db.session() as s:
        return (s.exec(select(func.count()).select_from(Customer)).one(),
                s.exec(select(func.count()).select_from(Interaction)).one(),
                s.exec(select(func.count()).select_from(Task)).one())


HEADS = ["", "help ", "find ", "show ", "add ", "log globex call ", "log globex ", "remind globex ",
         "remind globex tomorrow 3pm ", "deal globex ", "link globex ", "tasks ", "done ", "snooze ",
         "audit globex ", "export ", "stats ", 'add "', "show #", "log #999999999999999999999 call "]


@pytest.mark.slow
@hsettings(max_examples=20, deadline=None, suppress_health_check=FIXTURES_OK)
@given(head=st.sampled_from(HEADS), tail=nasty_text, user=st.sampled_from(["UALICE", "UBOB", "UADA", "USTRANGER"]))
def test_slack_hostile_command_text_gets_a_clear_answer_and_no_half_writes(slack_bot, db, head, tail, user):
    before = slack_counts(db)
    sent = slack_bot.command(head + tail, user=user)
    assert sent.status == 200
    answer = slack_bot.answer(sent)
    text = all_text(answer)
    assert text.strip() and "Traceback" not in text
    assert "went wrong" not in text, text[:500]  # an apology means an unhandled exception
    after = slack_counts(db)
    if answer.get("text", "").startswith("⚠️"):
        assert after == before, text[:300]  # a refusal changes nothing
    else:
        # at most one row of one kind per command: nothing half-written, nothing doubled
        assert sum(a - b for a, b in zip(after, before)) <= 1


@sqlite_only
def test_slack_40000_character_command_is_refused_with_the_limit(slack_bot, db):
    before = slack_counts(db)
    answer = slack_bot.ask("log globex call " + "很长的记录 " * 8000)
    assert "the limit is 8,000" in all_text(answer)
    assert slack_counts(db) == before


# ---- Telegram webhook updates -------------------------------------------------------------------

import itertools  # noqa: E402

from tests.telegram_support import WEBHOOK_SECRET  # noqa: E402

_chats = itertools.count(910_000)
UPDATE_KINDS = ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
                "my_chat_member", "chat_member", "chat_join_request", "poll", "poll_answer", "inline_query",
                "message_reaction", "business_message", "shipping_query", "pre_checkout_query", "made_up"]


def post_raw(bot, body: bytes, content_type: str = "application/json"):
    return bot.http.post(bot.url, content=body, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
                                                          "Content-Type": content_type})


def telegram_interactions(db, source_ids: list[str]) -> list[str]:
    with db.session() as s:
        return list(s.exec(select(Interaction.source_message_id).where(
            Interaction.source_platform == "telegram", Interaction.source_message_id.in_(source_ids))).all())


@pytest.mark.slow
@sqlite_only
@hsettings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_OK)
@given(body=st.one_of(st.binary(max_size=300), nasty_text.map(lambda t: t.encode("utf-8")),
                      json_values.map(lambda v: json.dumps(v).encode()),
                      st.sampled_from([b"{", b"[]", b"null", b'{"update_id": 1.5}', b'{"update_id": "7"}',
                                       b'{"update_id": 1, "message": "hi"}', b'{"update_id": 1, "message": []}',
                                       b'{"update_id": 99999999999999999999999}', b"\x00" * 10])))
def test_telegram_malformed_bodies_are_refused_with_a_4xx(telegram_bot, body):
    response = post_raw(telegram_bot, body)
    assert refused_or_ok(response.status_code), (response.status_code, body[:200], response.text)
    assert "Traceback" not in response.text


@pytest.mark.slow
@sqlite_only
@hsettings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_OK)
@given(kind=st.sampled_from(UPDATE_KINDS), content=json_values, update_id=st.integers(1, 2**31))
def test_telegram_arbitrary_update_objects_never_get_a_5xx(telegram_bot, kind, content, update_id):
    response = post_raw(telegram_bot, json.dumps({"update_id": update_id, kind: content}).encode())
    assert refused_or_ok(response.status_code), (response.status_code, kind, content, response.text)
    assert "Traceback" not in response.text


def private_text(bot, chat: int, text: str, edited: bool) -> dict:
    update = bot.updates.text(chat, text, first_name=text[:20] or "Ann")
    if edited:
        message = update.pop("message")
        update["edited_message"] = dict(message, edit_date=message["date"] + 60)
    return update


def channel_post(bot, chat: int, text: str, kind: str) -> dict:
    chat_type = {"channel_post": "channel", "group": "group", "supergroup": "supergroup"}[kind]
    message = {"message_id": next(_chats), "date": 1_790_000_000, "text": text,
               "chat": {"id": -chat, "type": chat_type, "title": text[:30] or "room"}}
    if chat_type != "channel":
        message["from"] = bot.updates.user(chat, "Group Person")
    return {"update_id": next(_chats), "channel_post" if chat_type == "channel" else "message": message}


@pytest.mark.slow
@hsettings(max_examples=20, deadline=None, suppress_health_check=FIXTURES_OK)
@given(text=nasty_text, kind=st.sampled_from(["message", "edited", "channel_post", "group", "supergroup"]))
def test_telegram_weird_but_valid_updates_are_stored_once_or_ignored(telegram_bot, db, text, kind):
    chat = next(_chats)
    if kind in ("message", "edited"):
        update = private_text(telegram_bot, chat, text, edited=kind == "edited")
        message = update.get("message") or update["edited_message"]
    else:
        update = channel_post(telegram_bot, chat, text, kind)
        message = update.get("message") or update["channel_post"]
    for _ in range(2):  # Telegram redelivers when unsure: the second delivery changes nothing
        response = telegram_bot.post(update)
        assert response.status_code == 200, response.text
    key = f"{message['message_id']}:edit:{update['update_id']}" if kind == "edited" else message["message_id"]
    stored = telegram_interactions(db, [f"{abs(message['chat']['id'])}:{key}", f"{message['chat']['id']}:{key}"])
    is_command = text.startswith("/") and kind == "message"
    is_rating = text.strip() in ("1", "2", "3", "4", "5")
    if kind in ("channel_post", "group", "supergroup") or is_command or not text.replace("\x00", "").strip():
        assert stored == []
    elif not is_rating:
        assert len(stored) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_telegram_text_with_null_bytes_is_stored_on_postgresql(telegram_bot, db):
    update = telegram_bot.say(next(_chats), "order\x00 #42 😀 王伟")
    message = update["message"]
    [stored] = telegram_interactions(db, [f"{message['chat']['id']}:{message['message_id']}"])
    assert stored
