"""Customers on Telegram, through the real app (uvicorn + python-telegram-bot) and the Bot API stand-in."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from crm.models import AuditEvent, Customer, InviteToken, Staff
from tests.helpers import say
from tests.telegram_support import WEBHOOK_SECRET

ANN = 7001


def test_start_without_contact_creates_a_lead_and_offers_the_contact_button(telegram_bot):
    telegram_bot.send(telegram_bot.updates.start(ANN, first_name="Ann", last_name="Lee", username="annlee"))
    reply = telegram_bot.last_reply(ANN)
    assert "Hello Ann" in reply.text
    keyboard = reply.markup["keyboard"][0][0]
    assert keyboard["request_contact"] is True
    lead = telegram_bot.customer(ANN)
    assert lead.name == "Ann Lee" and lead.stage == "lead" and lead.telegram_username == "annlee"
    assert lead.language == "en"

    telegram_bot.say(ANN, "Do you ship to Canada?")
    [stored] = telegram_bot.interactions(lead.id)
    assert (stored.direction, stored.kind, stored.channel, stored.text) == ("inbound", "message", "telegram",
                                                                             "Do you ship to Canada?")
    [ticket] = telegram_bot.tickets(lead.id)
    assert ticket.status == "open" and stored.ticket_id == ticket.id


def test_sharing_own_phone_binds_the_chat_to_the_existing_customer(telegram_bot, team):
    telegram_bot.send(telegram_bot.updates.start(ANN, first_name="Hank"))
    telegram_bot.replies(ANN, 1)
    telegram_bot.say(ANN, "hi, it's Hank from Globex")  # stored on the lead made at /start
    telegram_bot.send(telegram_bot.updates.contact(ANN, "+15550102000", first_name="Hank"))
    texts = telegram_bot.replies(ANN, 2)
    assert "we found your account" in texts[-1]
    assert telegram_bot.last_reply(ANN, 2).markup.get("remove_keyboard") is True
    bound = telegram_bot.customer(ANN)
    assert bound.id == team.globex
    # the lead made at /start was merged away: its message now belongs to Globex
    with telegram_bot.db.session() as s:
        assert s.exec(select(Customer).where(Customer.name == "Hank")).first() is None
    texts = [i.text for i in telegram_bot.interactions(team.globex, direction="inbound")]
    assert texts == ["hi, it's Hank from Globex", "[contact] Hank +15550102000"]


def test_a_forwarded_contact_is_a_message_not_a_login(telegram_bot, team):
    """Sharing someone else's card (no user_id = the sender) must not bind the chat to that customer."""
    telegram_bot.send(telegram_bot.updates.contact(ANN, "+15550102000", own=False, contact_name="Globex ops"))
    customer = telegram_bot.customer(ANN)
    assert customer.id != team.globex
    assert telegram_bot.interactions(customer.id)[0].text == "[contact] Globex ops +15550102000"
    with telegram_bot.db.session() as s:
        assert s.get(Customer, team.globex).telegram_chat_id is None


def test_unknown_phone_is_saved_on_the_new_lead(telegram_bot):
    telegram_bot.send(telegram_bot.updates.contact(ANN, "+44 20 7946 0000", first_name="Zed"))
    assert "saved your number" in telegram_bot.replies(ANN)[-1]
    lead = telegram_bot.customer(ANN)
    assert lead.name == "Zed" and lead.phone == "+44 20 7946 0000"


def test_invite_deep_link_binds_directly(telegram_bot, team, engine):
    reply = say(telegram_bot.app.engine, "UALICE", "/crm invite globex")
    link = dict(reply.fields)["Link"]
    assert link.startswith("https://t.me/acme_support_bot?start=")
    token = link.rsplit("=", 1)[1]
    telegram_bot.send(telegram_bot.updates.start(ANN, token, first_name="Hank"))
    assert "connected to your account" in telegram_bot.replies(ANN)[-1]
    assert telegram_bot.customer(ANN).id == team.globex
    with telegram_bot.db.session() as s:
        assert s.get(InviteToken, token).used_at is not None
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "telegram.bind",
                                               AuditEvent.customer_id == team.globex)).first() is not None
    # a used link does not bind anyone else
    telegram_bot.send(telegram_bot.updates.start(7002, token, first_name="Mallory"))
    assert "not valid any more" in telegram_bot.replies(7002)[0]
    assert telegram_bot.customer(7002).id != team.globex


def test_expired_invite_is_refused(telegram_bot, team):
    with telegram_bot.db.session() as s:
        s.add(InviteToken(token="old-token", customer_id=team.initech,
                          expires_at=telegram_bot.clock.now - timedelta(days=1)))
    telegram_bot.send(telegram_bot.updates.start(ANN, "old-token"))
    assert "not valid any more" in telegram_bot.replies(ANN)[0]
    assert telegram_bot.customer(ANN).id != team.initech


def test_redelivered_update_is_stored_once(telegram_bot):
    update = telegram_bot.updates.text(ANN, "please call me back")
    for _ in range(3):
        telegram_bot.send(update)
    # the same message inside a new update (Telegram re-sends after a timeout with a new id)
    again = dict(update, update_id=update["update_id"] + 1000)
    telegram_bot.send(again)
    customer = telegram_bot.customer(ANN)
    assert [i.text for i in telegram_bot.interactions(customer.id)] == ["please call me back"]
    assert len(telegram_bot.tickets(customer.id)) == 1


@pytest.mark.parametrize("secret", [None, "wrong", WEBHOOK_SECRET + "x", ""])
def test_missing_or_wrong_secret_is_refused_and_nothing_is_stored(telegram_bot, secret):
    response = telegram_bot.post(telegram_bot.updates.text(ANN, "let me in"), secret=secret)
    assert response.status_code == 403
    assert telegram_bot.customer(ANN) is None
    assert telegram_bot.interactions() == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"message": {}}', b'{"update_id": "x"}'])
def test_malformed_updates_get_400(telegram_bot, body):
    response = telegram_bot.http.post(telegram_bot.url, content=body,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
                                               "Content-Type": "application/json"})
    assert response.status_code == 400
    assert telegram_bot.interactions() == []


def test_webhook_was_registered_with_the_secret(telegram_bot):
    assert telegram_bot.fake.webhook["url"] == "https://crm.example.test/telegram/webhook"
    assert telegram_bot.fake.webhook["secret_token"] == WEBHOOK_SECRET


def test_photo_document_and_edit_are_stored(telegram_bot):
    telegram_bot.send(telegram_bot.updates.photo(ANN, caption="the broken part"))
    telegram_bot.send(telegram_bot.updates.document(ANN, "invoice-42.pdf", caption="wrong amount"))
    telegram_bot.send(telegram_bot.updates.photo(ANN))
    customer = telegram_bot.customer(ANN)
    # what was attached is stored with its name, type and size (shown in /crm show and privacy exports)
    first, second, third = [i.text for i in telegram_bot.interactions(customer.id)]
    assert first.startswith("[photo] 📎 photo-") and first.endswith("(image/jpeg, size unknown)\nthe broken part")
    assert second == "[document] 📎 invoice-42.pdf (application/pdf, 1.2 KB)\nwrong amount"
    assert third.startswith("[photo] 📎 photo-")


def test_status_and_help_show_only_the_customers_own_ticket(telegram_bot, team):
    telegram_bot.say(ANN, "/status")
    assert "no open request" in telegram_bot.replies(ANN)[-1]
    telegram_bot.say(ANN, "my order is late")
    customer = telegram_bot.customer(ANN)
    [ticket] = telegram_bot.tickets(customer.id)
    say(telegram_bot.app.engine, "UALICE", f"/crm ticket assign #{ticket.id}")
    telegram_bot.say(ANN, "/status")
    status = telegram_bot.replies(ANN, 2)[-1]
    assert f"#{ticket.id} is open" in status and "Alice Rep is handling it" in status
    telegram_bot.say(ANN, "/help")
    help_text = telegram_bot.replies(ANN, 3)[-1]
    assert "/status" in help_text and "/forgetme" in help_text and "/crm" not in help_text


@pytest.mark.parametrize("attempt", ["/crm show globex", "/crm find glob", "/show globex", "/tasks",
                                     "/status globex", "/crm export globex", "/start #1"])
def test_customers_never_see_other_customers(telegram_bot, team, attempt):
    telegram_bot.say(ANN, attempt)
    texts = telegram_bot.replies(ANN)
    everything = " ".join(texts)
    for secret in ("Globex", "ops@globex", "555", "Initech", "Alice", "vip", "王伟"):
        assert secret not in everything, (attempt, everything)
    if attempt.startswith(("/crm", "/show", "/tasks")):
        assert "only for our staff" in texts[-1]
    # and nothing was run or stored as a message to the company
    assert telegram_bot.interactions() == []


def test_chinese_customer_is_greeted_and_answered_in_chinese(telegram_bot):
    telegram_bot.send(telegram_bot.updates.start(ANN, first_name="小明", lang="zh-hans"))
    assert "您好" in telegram_bot.replies(ANN)[0]
    assert telegram_bot.last_reply(ANN).markup["keyboard"][0][0]["text"] == "📱 分享我的手机号"
    telegram_bot.say(ANN, "你好，我的订单什么时候发货？", first_name="小明", lang="zh-hans")
    customer = telegram_bot.customer(ANN)
    assert customer.name == "小明" and customer.language == "zh"
    assert telegram_bot.interactions(customer.id)[0].text == "你好，我的订单什么时候发货？"
    telegram_bot.say(ANN, "/status", lang="zh-hans")
    assert "正在处理中" in telegram_bot.replies(ANN, 2)[-1]


def test_language_switch(telegram_bot):
    telegram_bot.send(telegram_bot.updates.start(ANN))
    telegram_bot.say(ANN, "/language zh")
    assert "中文" in telegram_bot.replies(ANN, 2)[-1]
    assert telegram_bot.customer(ANN).language == "zh"
    telegram_bot.say(ANN, "/help")
    assert "直接在这里留言" in telegram_bot.replies(ANN, 3)[-1]
    telegram_bot.say(ANN, "/language klingon")
    usage = telegram_bot.last_reply(ANN, 4)
    assert "/language en" in usage.text and usage.button_data() == ["lang:en", "lang:zh"]
    telegram_bot.send(telegram_bot.updates.callback(ANN, "lang:en"))
    assert "English" in telegram_bot.replies(ANN, 5)[-1]
    assert telegram_bot.customer(ANN).language == "en"


def test_stop_opts_out_of_marketing_and_is_audited(telegram_bot):
    telegram_bot.say(ANN, "/stop")
    assert "not receive marketing" in telegram_bot.replies(ANN)[-1]
    customer = telegram_bot.customer(ANN)
    assert customer.marketing_opt_out is True
    with telegram_bot.db.session() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "customer.marketing_opt_out")).one()
    assert event.customer_id == customer.id and event.platform == "telegram"


def test_forgetme_asks_then_erases_and_unbinds(telegram_bot, team):
    telegram_bot.send(telegram_bot.updates.contact(ANN, "+15550102000"))  # binds to Globex
    assert telegram_bot.customer(ANN).id == team.globex
    telegram_bot.say(ANN, "/forgetme")
    ask = telegram_bot.last_reply(ANN, 2)
    assert "/forgetme confirm" in ask.text and ask.button_data() == ["forget:yes"]
    with telegram_bot.db.session() as s:
        assert s.get(Customer, team.globex).forgotten_at is None  # asking changes nothing
    telegram_bot.send(telegram_bot.updates.callback(ANN, "forget:yes"))
    assert "erased" in telegram_bot.replies(ANN, 3)[-1]
    with telegram_bot.db.session() as s:
        globex = s.get(Customer, team.globex)
    assert globex.forgotten_at is not None and globex.telegram_chat_id is None and globex.phone is None
    assert telegram_bot.customer(ANN) is None


def test_forgetme_confirm_typed(telegram_bot):
    telegram_bot.say(ANN, "hello")
    customer = telegram_bot.customer(ANN)
    telegram_bot.say(ANN, "/forgetme confirm")
    telegram_bot.replies(ANN, 1)
    with telegram_bot.db.session() as s:
        assert s.get(Customer, customer.id).forgotten_at is not None
    assert [i.text for i in telegram_bot.interactions(customer.id)] == [""]


def test_out_of_office_reply_once_per_conversation(telegram_bot):
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)
    telegram_bot.say(ANN, "anyone there?", date=saturday)
    telegram_bot.say(ANN, "hello??", date=saturday + timedelta(minutes=5))
    replies = telegram_bot.replies(ANN, 1)
    telegram_bot.settle()
    replies = [c.text for c in telegram_bot.fake.sent_to(ANN)]
    assert len(replies) == 1 and "away right now" in replies[0] and "Mon, Tue, Wed, Thu, Fri" in replies[0]
    customer = telegram_bot.customer(ANN)
    assert len(telegram_bot.interactions(customer.id)) == 2
    # in business hours nothing automatic is sent
    telegram_bot.say(7002, "hi", date=datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    telegram_bot.settle()
    assert telegram_bot.fake.sent_to(7002) == []


def test_staff_on_telegram_use_crm_commands(telegram_bot, team):
    telegram_bot.say(5001, "/crm show globex", first_name="Alice")
    reply = telegram_bot.last_reply(5001)
    assert "Globex Corporation" in reply.text and "<b>" in reply.text
    assert reply.params["parse_mode"] == "HTML"
    # buttons carry short keys, not the command itself
    data = reply.button_data()
    assert data and all(d.startswith("b:") and len(d.encode()) <= 64 for d in data)
    # staff messages are commands, never customer conversations
    assert telegram_bot.customer(5001) is None
    with telegram_bot.db.session() as s:
        assert s.exec(select(Staff).where(Staff.telegram_user_id == 5001)).one().name == "Alice Rep"


def test_a_redelivered_staff_command_is_done_once(telegram_bot, team):
    from crm.models import Interaction

    update = telegram_bot.updates.text(5001, "/crm log globex call agreed the pilot", first_name="Alice")
    telegram_bot.send(update)
    assert "Logged" in telegram_bot.replies(5001, 1)[-1]
    telegram_bot.send(update)  # Telegram did not see the 200 and delivers the same update again
    # the update id is stored once (telegram_inbound): the redelivery is acknowledged and nothing runs again,
    # not even an "Already done" (the engine's own claim answers that when a crash cut the first answer off)
    time.sleep(0.5)
    assert len(telegram_bot.replies(5001, 1)) == 1
    with telegram_bot.db.session() as s:
        logged = s.exec(select(Interaction).where(Interaction.text == "agreed the pilot")).all()
    assert len(logged) == 1 and logged[0].source_message_id == f"5001:{update['message']['message_id']}"


def test_a_customer_cannot_rate_someone_elses_ticket(telegram_bot, team):
    telegram_bot.say(ANN, "help me")
    ann = telegram_bot.customer(ANN)
    [ticket] = telegram_bot.tickets(ann.id)
    say(telegram_bot.app.engine, "UALICE", f"/crm ticket resolve #{ticket.id}")
    telegram_bot.send(telegram_bot.updates.callback(7002, f"rate:{ticket.id}:1"))  # another chat
    telegram_bot.send(telegram_bot.updates.callback(7002, "rate:999:1"))
    telegram_bot.settle()
    assert telegram_bot.tickets(ann.id)[0].rating is None
    assert telegram_bot.fake.sent_to(7002) == []
    telegram_bot.send(telegram_bot.updates.callback(ANN, f"rate:{ticket.id}:5"))
    telegram_bot.settle()
    assert telegram_bot.tickets(ann.id)[0].rating == 5
