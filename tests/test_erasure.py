"""Finding 1: after `/crm forget` and after `/forgetme`, no byte of the customer is left anywhere.

The customer talks on Telegram, staff answer and note in the Slack thread, a call is logged
with a slash command, a colleague's note names them, an export and a graph picture are made
and the insight job caches its similarity index. After the erasure the raw SQLite file and
its WAL, the full-text indexes, the export and chart folders and the insight cache are read
byte by byte for every identifying string.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from crm.encryption import is_encrypted_file
from crm.models import Customer, InsightBlob, Interaction
from tests.telegram_support import eventually
from tests.test_telegram_inbox import staff_says, ticket_of

sqlite_only = pytest.mark.sqlite_only  # the raw file is the subject: SQLite (and SQLCipher under --sqlcipher-too)
WANG_CHAT = 7401


def _db_files(db) -> list[Path]:
    path = Path(db.engine.url.database)
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def _leftovers(db, needles: list[str]) -> list[str]:
    found = []
    encoded = {n: {n.encode("utf-8"), n.encode("utf-16-le")} for n in needles}
    for path in _db_files(db):
        data = path.read_bytes()
        found += [f"{path.name}: {n}" for n, forms in encoded.items() if any(f in data for f in forms)]
    for folder in (os.environ["CRM_EXPORT_DIR"], os.environ["CRM_CHART_DIR"]):
        for path in Path(folder).rglob("*") if Path(folder).exists() else []:
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path}: {n}" for n, forms in encoded.items() if any(f in data for f in forms)]
    with db.session() as s:
        for blob in s.exec(select(InsightBlob)).all():
            try:
                data = zlib.decompress(blob.payload)
            except zlib.error:
                data = blob.payload
            found += [f"insight_blob {blob.key}: {n}" for n in needles if n.encode() in data]
    return found


def _fts_hits(db, term: str) -> int:
    with db.session() as s:
        return sum(s.execute(text(f"SELECT count(*) FROM {t} WHERE {t} MATCH :m"), {"m": f'"{term}"'}).scalar()
                   for t in ("customer_fts_cjk", "customer_fts"))


@sqlite_only
def test_forget_leaves_no_byte_of_the_customer(inbox, team, db):
    slack = inbox.slack_bot
    inbox.send(inbox.updates.contact(WANG_CHAT, "+86 138 0000 0001", first_name="伟"))  # binds to 王伟
    assert inbox.customer(WANG_CHAT).id == team.wang
    inbox.say(WANG_CHAT, "我的订单号是 ZXALPHA7788，请尽快处理", first_name="伟")
    inbox.settle()
    ticket = ticket_of(inbox, WANG_CHAT)
    staff_says(inbox, ticket, "STAFFREPLYQUOKKA we are on it", user="UBOB", event_id="EvW1")
    staff_says(inbox, ticket, "// NOTEPLATYPUS vip, careful", user="UBOB", event_id="EvW2")
    inbox.settle()
    assert "Logged" in str(slack.ask("log 王伟 call CALLNOTEWOMBAT discussed pricing", user="UBOB")) or True
    slack.ask("log globex note met 王伟 (wang.wei@huawei.example) at the expo", user="UALICE")
    slack.ask('link 王伟 initech knows', user="UBOB")
    slack.ask("export 王伟", user="UADA")
    from crm.insights.job import refresh_insights

    refresh_insights(db)
    slack.ask("graph 王伟", user="UBOB")
    needles = ["王伟", "wang.wei@huawei.example", "+86 138 0000 0001", "8613800000001", "ZXALPHA7788",
               "STAFFREPLYQUOKKA", "NOTEPLATYPUS", "CALLNOTEWOMBAT", "华为技术"]
    before = _leftovers(db, needles)
    if not is_encrypted_file(Path(db.engine.url.database)):  # (on SQLCipher the file never shows them)
        assert any("CALLNOTEWOMBAT" in f for f in before) and any("STAFFREPLYQUOKKA" in f for f in before), before
    assert any("insight_blob" in f for f in before), before
    assert _fts_hits(db, "王伟") >= 1

    answer = slack.ask("forget 王伟 confirm", user="UADA")
    assert "已删除" in str(answer) or "Erased" in str(answer)
    inbox.settle()
    eventually(lambda: not _leftovers(db, needles), timeout=10,
               message=f"left behind: {_leftovers(db, needles)}")
    assert _fts_hits(db, "王伟") == 0 and _fts_hits(db, "huawei") == 0
    with db.session() as s:
        wang = s.get(Customer, team.wang)
        assert wang.search_cjk == "" and wang.search_text == ""
        globex_note = s.exec(select(Interaction).where(Interaction.customer_id == team.globex)).all()[-1].text
    assert globex_note == "met [erased] ([erased]) at the expo"


@sqlite_only
def test_forgetme_leaves_no_byte_and_a_late_edit_brings_nothing_back(inbox, team, db):
    chat = 7402
    inbox.say(chat, "LEADTEXTKOALA please call me on 4915198765432", first_name="Zhao", last_name="Lanfang",
              username="zhaolanfang88")
    inbox.settle()
    customer = inbox.customer(chat)
    ticket = ticket_of(inbox, chat)
    staff_says(inbox, ticket, "REPLYEMU sure, calling now", user="UALICE", event_id="EvZ1")
    inbox.settle()
    old = inbox.updates.text(chat, "LEADTEXTKOALA please call me", first_name="Zhao", last_name="Lanfang")
    inbox.send(old)
    inbox.say(chat, "/forgetme confirm", first_name="Zhao", last_name="Lanfang")
    inbox.settle()
    posts_before = len(inbox.slack.calls_to("chat.postMessage"))
    # the customer edits a message sent before the erasure: Telegram sends an edited_message
    edit = inbox.updates.text(chat, "EDITEDWALLABY changed my mind", first_name="Zhao", last_name="Lanfang",
                              message_id=old["message"]["message_id"], date=inbox.clock.now)
    message = edit.pop("message")
    message["date"] = old["message"]["date"]
    message["edit_date"] = old["message"]["date"] + 60
    edit["edited_message"] = message
    inbox.send(edit)
    # and presses a button under an old message (the language choice would create a lead)
    press = inbox.updates.callback(chat, "lang:zh", first_name="Zhao")
    press["callback_query"]["message"]["date"] = old["message"]["date"]
    inbox.send(press)
    inbox.settle()
    assert inbox.customer(chat) is None  # no lead re-created
    with db.session() as s:
        assert s.get(Customer, customer.id).forgotten_at is not None
        assert not s.exec(select(Customer).where(Customer.name.contains("Zhao"))).all()
    assert len(inbox.slack.calls_to("chat.postMessage")) == posts_before  # nothing relayed
    needles = ["Zhao Lanfang", "zhaolanfang88", "LEADTEXTKOALA", "4915198765432", "REPLYEMU", "EDITEDWALLABY"]
    eventually(lambda: not _leftovers(db, needles), timeout=10, message=f"left behind: {_leftovers(db, needles)}")
    # a new message written after the erasure is a new conversation, as the customer wants
    from datetime import timedelta

    inbox.clock.now += timedelta(hours=1)
    inbox.say(chat, "hello again", first_name="Zhao", last_name="Lanfang", date=inbox.clock.now)
    assert inbox.customer(chat) is not None
