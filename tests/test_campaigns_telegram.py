"""A campaign through the whole running app: uvicorn, the Telegram adapter, the App's campaign runner,
python-telegram-bot and the Bot API stand-in. A customer's /stop over the webhook keeps them out;
a reply over the webhook is attributed in the report.
"""
from __future__ import annotations

from sqlmodel import select

from crm.models import Campaign, Customer
from tests.helpers import say
from tests.telegram_support import eventually

GLOBEX, WANG, LI = 8101, 8102, 8103


def _bind(db, team):
    with db.session() as s:
        for customer_id, chat in ((team.globex, GLOBEX), (team.wang, WANG), (team.li, LI)):
            customer = s.get(Customer, customer_id)
            customer.telegram_chat_id = chat
            s.add(customer)


def test_campaign_end_to_end_with_stop_and_a_reply(telegram_bot, team, db, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_CHART_DIR", str(tmp_path / "charts"))
    _bind(db, team)
    telegram_bot.say(LI, "/stop")  # Li Na opts out on Telegram
    assert "not receive marketing" in telegram_bot.replies(LI)[-1]

    engine = telegram_bot.app.engine
    created = say(engine, "UMARIA", '/crm campaign new "Winter" segment=all end="in 2 weeks" budget=90 '
                                    'en="Winter offer: 2 months free" zh="冬季优惠：免费两个月"')
    assert not created.error, created.text
    preview = say(engine, "UMARIA", "/crm campaign preview Winter")
    assert dict(preview.fields)["Left out: opted out (/stop)"] == "1"
    sent = say(engine, "UMARIA", '/crm campaign send "Winter" confirm')
    assert "Sending “Winter” to 2 customers now" in sent.text, sent.text

    def finished():
        with db.session() as s:
            return s.exec(select(Campaign).where(Campaign.name == "Winter")).one().status == "sent"

    eventually(finished, timeout=30, message="the app's runner never finished the campaign")
    to_globex = [c for c in telegram_bot.fake.sent_to(GLOBEX) if "Winter offer" in c.text]
    to_wang = [c for c in telegram_bot.fake.sent_to(WANG) if "冬季优惠" in c.text]
    assert len(to_globex) == 1 and len(to_wang) == 1
    assert not [c for c in telegram_bot.fake.sent_to(LI) if "Winter" in c.text or "冬季" in c.text]

    telegram_bot.say(GLOBEX, "Interested! How do I sign up?")  # stored by the inbox as an inbound message
    report = say(engine, "UMARIA", "/crm campaign report Winter")
    fields = dict(report.fields)
    assert (fields["Delivered"], fields["Replied"], fields["Cost per reply"]) == ("2", "1 (50%)", "$90.00")
