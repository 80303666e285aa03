"""Issue 13's findings, each reproduced as the attacker did it (over loopback, real adapters).

Injection into Slack (3), internal notes from strangers (6), LIKE wildcards (8), /crm link
ownership (9), CSV formulas (2), log redaction, /healthz and foreign workspaces (10), and the
edge's answers to malformed requests (7). The resource-exhaustion findings (4, 5) run a real
server process: tests/test_security_edge.py. Erasure (1): tests/test_erasure.py.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import re
import socket
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.errors import NotFound
from bot.replies import Reply
from crm.customers import create_customer, resolve_staff
from crm.models import Customer, Interaction, Relationship, Staff
from integrations.slack import blocks as kit
from tests.fakes.slack_api import FakeSlackApi, sign
from tests.helpers import say
from tests.slack_harness import SECRET, all_text
from tests.telegram_support import TelegramBot, telegram_settings
from tests.slack_harness import SlackBot

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# what Slack would turn into a ping or a link in mrkdwn (https://api.slack.com/reference/surfaces/formatting)
LIVE_MARKUP = re.compile(r"<[!@#]|<(?:https?|mailto|tel):|<[^>]*\|", re.IGNORECASE)
HOSTILE_NAME = "<!channel>"
HOSTILE_TEXT = "<!here> pay now at <https://evil.example/pay|your invoice portal> <@UADM> <!subteam^S0X|@sales>"


def _no_live_markup(message: dict) -> None:
    for text in [message.get("text") or "", all_text(message)]:
        assert not LIVE_MARKUP.search(text), text
        assert not re.search(r"(?<![\w\u2060])@(channel|here|everyone)\b", text), text


def _rich_links(node) -> list[dict]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "link" else []
        return found + [x for v in node.values() for x in _rich_links(v)]
    if isinstance(node, list):
        return [x for v in node for x in _rich_links(v)]
    return []


def _visible_text(node) -> str:
    if isinstance(node, dict):
        own = node.get("text") if isinstance(node.get("text"), str) and node.get("type") == "text" else ""
        return own + "".join(_visible_text(v) for v in node.values())
    if isinstance(node, list):
        return "".join(_visible_text(v) for v in node)
    return ""


# ---- finding 3: Slack mention and link injection -----------------------------------------------

def test_fallback_text_of_every_rendered_message_is_escaped():
    for reply in (Reply(text=f"{HOSTILE_NAME} {HOSTILE_TEXT}"), Reply.fail(HOSTILE_TEXT),
                  Reply(text="x\n" * 5000 + HOSTILE_TEXT)):
        text, blocks = kit.render(reply)
        _no_live_markup({"text": text, "blocks": blocks})
        for text, blocks in kit.render_messages(reply):
            _no_live_markup({"text": text, "blocks": blocks})
    # bare broadcast words cannot be linked by link_names either
    assert "@channel" not in kit.escape("ping @channel and @HERE")


def test_telegram_customer_cannot_ping_or_link_in_the_inbox(db, settings, clock, telegram_api, slack_api, team):
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    try:
        bot.say(7301, HOSTILE_TEXT, first_name=HOSTILE_NAME, last_name="<@UADA>")
        bot.say(7301, "second <!everyone> <tel:+15550100|call me>", first_name=HOSTILE_NAME)
        # Telegram's own link entity: a label over a different URL
        bot.say(7301, "pay at your invoice portal now", first_name=HOSTILE_NAME,
                entities=[{"type": "text_link", "offset": 7, "length": 19, "url": "https://evil.example/pay"}])
        bot.settle()
        posts = slack_api.wait_for("chat.postMessage", 3)  # the card (with the first message) and two more
        assert "invoice portal" in all_text(posts[-1].params)
        for post in posts:
            _no_live_markup(post.params)
            for link in _rich_links(post.params.get("blocks") or []):  # a link shows where it goes
                assert link["url"] in _visible_text(post.params.get("blocks")), link
        assert any("evil.example" in all_text(p.params) for p in posts)  # shown, as text
        assert all(str(p.params.get("unfurl_links")).lower() in ("false", "0") for p in posts)  # no previews
    finally:
        bot.close()


def test_show_public_posts_an_inert_card(slack_bot, db):
    with db.session() as s:
        customer = create_customer(s, f"{HOSTILE_NAME} Mention Co", company="<https://evil.example|Acme>",
                                   email="x@mention.example", tags="<!here>",
                                   owner=s.exec(select(Staff).where(Staff.name == "Alice Rep")).one())
        cid = customer.id
    answer = slack_bot.ask(f"show #{cid} public", user="UALICE")
    assert answer.get("response_type") == "in_channel"
    _no_live_markup(answer)
    assert "Mention Co" in all_text(answer)


# ---- finding 6: internal notes from unknown and deactivated Slack users --------------------------

def test_notes_from_strangers_and_deactivated_staff_are_not_stored(db, settings, clock, telegram_api, slack_api, team):
    from tests.test_telegram_inbox import staff_says, ticket_of

    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    bot.slack_bot = SlackBot(bot.app, slack_api, bot.port)
    try:
        bot.say(7302, "hello")
        bot.settle()
        ticket = ticket_of(bot, 7302)
        with db.session() as s:
            bob = s.get(Staff, team.bob)
            bob.active = False
            s.add(bob)
        staff_says(bot, ticket, "// stranger note: wire the money", user="UNOBODY", event_id="EvN1")
        staff_says(bot, ticket, "// deactivated note: wire the money", user="UBOB", event_id="EvN2")
        staff_says(bot, ticket, "// a real note from Alice", user="UALICE", event_id="EvN3")
        bot.settle()
        notes = [i.text for i in bot.interactions(kind="note")]
        assert notes == ["a real note from Alice"]
        show = say(bot.app.engine, "UALICE", f"show #{ticket.customer_id}")
        assert "wire the money" not in json.dumps(show.__dict__, default=str)
    finally:
        bot.slack_bot.close()
        bot.close()


# ---- finding 8: LIKE wildcards in staff references ----------------------------------------------

@pytest.mark.store
def test_staff_references_are_literal(db, engine, team):
    with db.session() as s:
        for ref in ("m%", "@m%", "%", "_", "r_ta", "a_ice", "ali%", "Al_ce Rep", "%@crm.example"):
            with pytest.raises(NotFound):
                resolve_staff(s, ref)
        assert resolve_staff(s, "@alice").id == team.alice  # a first name still works
        assert resolve_staff(s, "Maria Manager").id == team.manager
    reply = say(engine, "UADA", "staff set @m% role=rep")
    assert reply.error
    with db.session() as s:
        assert s.get(Staff, team.manager).role == "manager"


# ---- finding 9: /crm link checks both customers ---------------------------------------------------

@pytest.mark.store
def test_rep_cannot_link_to_another_reps_customer(db, engine, team):
    reply = say(engine, "UALICE", "link globex initech referred")  # Globex is Alice's, Initech is Bob's
    assert reply.error
    reply = say(engine, "UALICE", "link initech globex referred")
    assert reply.error
    with db.session() as s:
        assert s.exec(select(Relationship)).all() == []
    assert not say(engine, "UALICE", 'link globex "Li Na" knows').error  # both Alice's: fine
    assert not say(engine, "UMARIA", "link globex initech referred").error  # the manager's team: fine


# ---- finding 2: CSV formula injection -----------------------------------------------------------

FORMULAS = ['=HYPERLINK("https://evil.example","Invoice")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
            "\t=1+1", "\r=1+1", " =1+1", "＝1+1"]


@sqlite_only
def test_exported_csv_holds_no_formula(db, team, tmp_path):
    from crm.exporter import export
    from crm.importer import import_customers

    with db.session() as s:
        for n, formula in enumerate(FORMULAS):
            create_customer(s, formula, company=formula, phone=f"+49 151 9876543{n}", tags=formula,
                            email=f"f{n}@formula.example")
    out = io.StringIO()
    export(db, "customers", "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    for row in rows:
        for cell in row:
            assert not cell.lstrip(" \u3000").startswith(("=", "+", "-", "@", "\t", "\r", "＝")), row
    names = {row[1] for row in rows[1:]}
    assert "'" + FORMULAS[0] in names
    # and the export imports back unchanged
    path = tmp_path / "back.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    with db.session() as s:
        for c in s.exec(select(Customer).where(Customer.email.like("%@formula.example"))).all():
            c.email = c.email.replace("formula", "old")
            c.forgotten_at = c.created_at  # gone, or the import would rightly skip them as duplicates
            s.add(c)
    import_customers(db, path)
    with db.session() as s:
        back = {c.name for c in s.exec(select(Customer).where(Customer.email.like("%@formula.example"))).all()}
    assert back == {" ".join(f.split()) for f in FORMULAS}


# ---- finding 10: logs, /healthz, foreign workspaces ----------------------------------------------

def test_digit_only_phone_numbers_are_redacted():
    from bot.logs import redact

    for text in ("contact 4915198765432 shared", "phone_number=4930123456", '{"phone_number": "8613800000001"}',
                 "+49 151 98765432", "call 0049-151-98765432"):
        out = redact(text)
        assert not re.search(r"\d{7,}", out.replace(" ", "").replace("-", "")), (text, out)
    # ids and timestamps are not phone numbers
    assert redact("chat 7001234567 ts 1700000000.000100 update 100000123") == \
        "chat 7001234567 ts 1700000000.000100 update 100000123"


def test_uvicorn_loggers_go_through_the_redaction_filter():
    import uvicorn

    from bot.edge_routes import uvicorn_config
    from bot.logs import install_redaction

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_redaction()
        uvicorn_config(lambda *a: None, "127.0.0.1", 0)
        assert isinstance(uvicorn.Config, type)
        for name in ("uvicorn.error", "uvicorn.access", "uvicorn"):
            logging.getLogger(name).warning("failed for 4915198765432 ann@example.com")
        written = stream.getvalue()
    finally:
        root.removeHandler(handler)
    assert written.count("[phone]") == 3 and "4915198765432" not in written and "ann@example.com" not in written


def test_healthz_names_no_host(slack_bot):
    r = slack_bot.http.get(slack_bot.url.replace("/slack/events", "/healthz"))
    assert r.status_code == 200 and r.json()["ok"] is True
    assert socket.gethostname() not in r.text and "instance" not in r.text


def test_requests_from_another_workspace_are_refused(slack_bot, db):
    form = {"token": "legacy", "team_id": "T0OTHER", "team_domain": "other", "channel_id": "C0X", "user_id": "UADA",
            "user_name": "ada", "command": "/crm", "text": 'add "Foreign Ltd"', "api_app_id": "A0FAKE",
            "response_url": slack_bot.fake.response_url("foreign"), "trigger_id": "trig.foreign"}
    r = slack_bot.post(urlencode(form), "application/x-www-form-urlencoded")
    assert r.status_code == 200 and "another Slack workspace" in r.text
    form |= {"team_id": FakeSlackApi.TEAM_ID, "enterprise_id": "E0OTHER", "trigger_id": "trig.foreign2"}
    r = slack_bot.post(urlencode(form), "application/x-www-form-urlencoded")
    assert r.status_code == 200 and "another Slack workspace" in r.text
    event = {"type": "app_home_opened", "user": "UADA", "channel": "DADA", "tab": "home", "event_ts": "1.0"}
    body = {"token": "legacy", "team_id": "T0OTHER", "api_app_id": "A0FAKE", "event": event,
            "type": "event_callback", "event_id": "Ev0FOREIGN", "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0OTHER", "user_id": "UBOT", "is_bot": True}]}
    assert slack_bot.post(json.dumps(body), "application/json").status_code == 200
    slack_bot.ask("help", user="UADA")  # our own workspace is still served
    time.sleep(0.3)
    assert not slack_bot.fake.calls_to("views.publish")
    with db.session() as s:
        assert not s.exec(select(Customer).where(Customer.name == "Foreign Ltd")).all()


# ---- finding 7: malformed requests get a 4xx, never a 500 or a traceback ---------------------------

def _raw(slack_bot, body: bytes, headers: dict) -> tuple[int, str]:
    r = slack_bot.http.post(slack_bot.url, content=body, headers=headers)
    return r.status_code, r.text


@sqlite_only
def test_malformed_slack_requests_are_4xx_without_traceback(slack_bot, caplog):
    caplog.set_level(logging.DEBUG, logger="uvicorn")
    form = "application/x-www-form-urlencoded"
    cases = [
        (b"command=/crm&text=help", {"Content-Type": form, "X-Slack-Request-Timestamp": "abc",
                                      "X-Slack-Signature": "v0=" + "0" * 64}),
        (b"command=/crm&text=help", {"Content-Type": form, "X-Slack-Request-Timestamp": "1e3",
                                      "X-Slack-Signature": "v0=00"}),
        (b"[" * 200_000 + b"]" * 200_000, {"Content-Type": "application/json"}),
        (b"{\"a\":" * 50_000 + b"1" + b"}" * 50_000, {"Content-Type": "application/json"}),
    ]
    deep = b"{\"type\":" * 30_000 + b"1" + b"}" * 30_000
    cases.append((deep, {"Content-Type": "application/json", **sign(deep.decode(), SECRET)}))
    latin = "command=/crm&text=caf\xe9&user_id=UADA".encode("latin-1")
    cases.append((latin, {"Content-Type": form, **_sign_bytes(latin)}))
    nested_payload = urlencode({"payload": "[" * 100_000}).encode()
    cases.append((nested_payload, {"Content-Type": form, **_sign_bytes(nested_payload)}))
    cases.append((b"\xff\xfe\x00junk", {"Content-Type": "application/json", **_sign_bytes(b"\xff\xfe\x00junk")}))
    for body, headers in cases:
        status, text = _raw(slack_bot, body, headers)
        assert 400 <= status < 500, (status, text[:200], headers)
        assert "Traceback" not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert "Traceback" not in caplog.text


def _sign_bytes(body: bytes) -> dict:
    import hashlib
    import hmac

    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest}


@sqlite_only
def test_oversized_bodies_are_refused_before_they_are_read(slack_bot):
    port = int(slack_bot.url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 104857600\r\n\r\n" + b"{" * 1000)
        head = sock.recv(200)
    assert head.startswith(b"HTTP/1.1 413"), head
    # chunked, no length: refused once the route's cap is passed (signed-looking, so it must be read)
    def chunks():
        for _ in range(200):
            yield b"x" * 65536
    r = slack_bot.http.post(slack_bot.url, content=chunks(), headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64})
    assert r.status_code == 413


@sqlite_only
def test_route_exceptions_and_disconnects_leave_no_traceback(slack_bot, caplog):
    caplog.set_level(logging.DEBUG, logger="uvicorn")
    port = int(slack_bot.url.split(":")[2].split("/")[0])
    for _ in range(3):  # a client that sends half a signed body and hangs up
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"X-Slack-Request-Timestamp: " + str(int(time.time())).encode()
                         + b"\r\nX-Slack-Signature: v0=00\r\nContent-Length: 5000\r\n\r\n{\"a\":")
    time.sleep(0.5)
    assert slack_bot.http.get(slack_bot.url.replace("/slack/events", "/healthz")).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
