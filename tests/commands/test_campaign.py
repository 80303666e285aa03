"""`/crm campaign`: segments, audience, confirmation, roles, bad input, attribution and the report.

On SQLite and PostgreSQL. Sending itself is in test_campaign_sending.py.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from crm.campaigns import lifecycle, results, segments
from crm.customers import create_customer
from crm.models import AuditEvent, Campaign, CampaignRecipient, Customer, Deal, Interaction
from tests.helpers import say, utc

NEW = ('/crm campaign new "Spring renewal" segment="tier=vip,standard" start=today end="in 2 weeks" budget=500 '
       'en="Renew before May and save 10%" zh="五月前续约可享九折"')


@pytest.fixture
def reachable(db, team):
    """Globex (vip, en), 王伟 (zh) and Li Na have Telegram chats; Initech has none."""
    with db.session() as s:
        for customer_id, chat in ((team.globex, 9001), (team.wang, 9002), (team.li, 9003)):
            customer = s.get(Customer, customer_id)
            customer.telegram_chat_id = chat
            s.add(customer)
    return team


@pytest.fixture(autouse=True)
def charts(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_CHART_DIR", str(tmp_path / "charts"))
    return tmp_path / "charts"


def _count(db, model) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _set(db, customer_id, **values):
    with db.session() as s:
        customer = s.get(Customer, customer_id)
        for key, value in values.items():
            setattr(customer, key, value)
        s.add(customer)


# ---------------------------------------------------------------- segments


@pytest.mark.store
def test_segment_keys_combine_with_and_values_with_or(db, reachable):
    team = reachable
    _set(db, team.globex, tags="renewal, upsell")
    _set(db, team.li, tags="upsell_2024")
    with db.session() as s:
        def ids(text):
            return {c.id for c in s.exec(select(Customer).where(*segments.parse_segment(s, text).conditions()))}

        assert ids("tier=vip") == {team.globex}
        assert ids("tier=vip,standard language=zh") == {team.wang}
        assert ids("owner=@bob") == {team.initech, team.wang}
        assert ids("owner=alice@crm.example,@bob stage=active") == {team.globex}
        assert ids("tags=upsell") == {team.globex}  # "upsell_2024" is another tag, and _ is no wildcard
        assert ids("tags=renewal,upsell_2024") == {team.globex, team.li}
        assert ids("company=Globex") == {team.globex, team.li}
        assert ids("company='华为技术'") == {team.wang}
        assert ids("all") == {team.globex, team.initech, team.wang, team.li}


@pytest.mark.parametrize("text, needle", [
    ("", "segment=all"),
    ("tir=vip", "tier (customer tier"),
    ("vip", "key=value"),
    ("tier=platinum", "standard, silver, gold, vip"),
    ("tier=vip tier=gold", "appears twice"),
    ("stage=", "needs a value"),
    ("owner=@nobody", "no colleague"),
    ("company=Umbrella", "no company"),
    ("language=fr", "en, zh"),
])
def test_bad_segments_say_what_is_allowed(db, team, text, needle):
    with db.session() as s:
        with pytest.raises(segments.CampaignError) as err:
            segments.parse_segment(s, text)
    assert needle in err.value.message and err.value.zh


@pytest.mark.store
def test_audience_counts_each_exclusion_once(db, reachable):
    team = reachable
    _set(db, team.li, marketing_opt_out=True, telegram_blocked=True)  # counted as opted out, not twice
    _set(db, team.wang, telegram_blocked=True)
    with db.session() as s:
        who = segments.audience(s, segments.parse_segment(s, "all"))
    assert (who.matching, who.reachable, who.no_telegram, who.opted_out, who.blocked) == (4, 1, 1, 1, 1)


@pytest.mark.store
def test_erased_customers_are_never_in_a_segment(db, reachable):
    _set(db, reachable.globex, forgotten_at=utc(2026, 1, 1))
    with db.session() as s:
        assert segments.audience(s, segments.parse_segment(s, "all")).matching == 3


def test_message_in_the_customers_language_with_fallback_and_stop_line():
    both = Campaign(name="x", message_en="Hello", message_zh="你好")
    assert lifecycle.message_for(both, "zh").startswith("你好") and "/stop" in lifecycle.message_for(both, "zh")
    assert lifecycle.message_for(both, "en").startswith("Hello")
    english_only = Campaign(name="y", message_en="Hello", message_zh="")
    assert lifecycle.message_for(english_only, "zh") == "Hello\n\n" + lifecycle.STOP_LINE["en"]
    chinese_only = Campaign(name="z", message_en=" ", message_zh="你好")
    assert lifecycle.message_for(chinese_only, "en") == "你好\n\n" + lifecycle.STOP_LINE["zh"]


# ---------------------------------------------------------------- new, preview, send


def test_new_creates_a_draft_and_is_audited(engine, db, reachable):
    reply = say(engine, "UMARIA", NEW)
    assert not reply.error, reply.text
    assert "3" in reply.text  # Globex, 王伟 and Li Na would receive it
    with db.session() as s:
        row = s.exec(select(Campaign)).one()
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "campaign.create")).one()
    assert (row.status, row.segment, row.budget) == ("draft", "tier=vip,standard", 500.0)
    assert row.message_zh == "五月前续约可享九折" and row.starts_at == utc(2026, 11, 23, 9)
    assert row.ends_at == utc(2026, 12, 7, 23, 59, 59)  # a date without a time runs to the end of that day
    assert '"Spring renewal"' in event.detail
    assert [b.command for b in reply.buttons] == ['campaign preview "Spring renewal"', 'campaign send "Spring renewal"']


BAD_NEW = [
    ('/crm campaign new segment=all end="in 2 weeks" en=hi', "name"),
    ('/crm campaign new "Spring renewal" segment=all end="in 2 weeks" en=hi', "already a campaign"),
    ('/crm campaign new "Q" end="in 2 weeks" en=hi', "segment=all"),
    ('/crm campaign new "Q" segment="tir=vip" end="in 2 weeks" en=hi', "tier (customer tier"),
    ('/crm campaign new "Q" segment="{tier}=vip" end="in 2 weeks" en=hi', "“{tier}=vip”"),
    ('/crm campaign new "Q" segment=all end="in 2 weeks"', 'en="…"'),
    ('/crm campaign new "Q" segment=all en=hi', "ends"),
    ('/crm campaign new "Q" segment=all end=blursday en=hi', "not a date"),
    ('/crm campaign new "Q" segment=all start="next friday" end="next monday" en=hi', "after the start"),
    ('/crm campaign new "Q" segment=all start="last month" end="yesterday" en=hi', "already past"),
    ('/crm campaign new "Q" segment=all end="in 2 weeks" budget=-5 en=hi', "budget="),
    ('/crm campaign new "Q" segment=all end="in 2 weeks" budget=lots en=hi', "budget="),
    ('/crm campaign new "Q" segment=all end="in 2 weeks" colour=red en=hi', "colour"),
    ('/crm campaign new list segment=all end="in 2 weeks" en=hi', "can't be a campaign name"),
    ("/crm campaign new " + "x" * 201 + ' segment=all end="in 2 weeks" en=hi', "at most 200 characters"),
    ('/crm campaign new "Q" segment=all end="in 2 weeks" en="' + "x" * 4001 + '"', "4,000"),
]


@pytest.mark.parametrize("line, needle", BAD_NEW)
def test_new_with_bad_input_explains_and_changes_nothing(engine, db, reachable, line, needle):
    if "already a campaign" in needle:
        assert not say(engine, "UMARIA", NEW).error
    before = (_count(db, Campaign), _count(db, AuditEvent))
    reply = say(engine, "UMARIA", line)
    assert reply.error and needle in reply.text, reply.text
    assert reply.usage and reply.usage.startswith("campaign new")
    assert (_count(db, Campaign), _count(db, AuditEvent)) == before


@pytest.mark.parametrize("line", ["/crm campaign", "/crm campaign launch x", "/crm campaign preview",
                                  "/crm campaign report nope", "/crm campaign send \"No such thing\""])
def test_other_bad_commands_explain(engine, db, reachable, line):
    reply = say(engine, "UMARIA", line)
    assert reply.error and reply.usage
    assert _count(db, CampaignRecipient) == 0


def test_preview_shows_counts_sample_and_both_messages(engine, db, reachable):
    say(engine, "UMARIA", NEW)
    _set(db, reachable.li, marketing_opt_out=True)
    reply = say(engine, "UMARIA", '/crm campaign preview "spring renewal"')
    fields = dict(reply.fields)
    assert fields["Will receive it"] == "2" and fields["Left out: opted out (/stop)"] == "1"
    assert fields["Left out: no Telegram"] == "1"
    text = reply.plain_text()
    assert "Globex Corporation" in text and "王伟" in text and "Li Na" not in text
    assert "五月前续约可享九折" in text and "Reply /stop" in text
    assert _count(db, CampaignRecipient) == 0  # a preview writes nothing


def test_send_asks_first_then_materialises_once(engine, db, reachable):
    say(engine, "UMARIA", NEW)
    ask = say(engine, "UMARIA", '/crm campaign send "Spring renewal"')
    assert not ask.error and "3 customers" in ask.text
    [button] = ask.buttons
    assert button.command == 'campaign send "Spring renewal" confirm' and "cannot be undone" in button.confirm
    assert _count(db, CampaignRecipient) == 0

    done = say(engine, "UMARIA", "/crm " + button.command)
    assert not done.error and "Queued “Spring renewal” for 3 customers" in done.text  # no Telegram here: it waits
    again = say(engine, "UMARIA", "/crm " + button.command)
    assert again.error and "already" in again.text
    with db.session() as s:
        rows = s.exec(select(CampaignRecipient)).all()
        campaign = s.exec(select(Campaign)).one()
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "campaign.send")).all()
    assert sorted(r.customer_id for r in rows) == sorted([reachable.globex, reachable.wang, reachable.li])
    assert {r.status for r in rows} == {"pending"}
    assert (campaign.status, campaign.sent_at) == ("sending", utc(2026, 11, 23, 10))
    assert len(audit) == 1


@pytest.mark.store
def test_materialising_twice_adds_nobody_twice(db, reachable):
    with db.session() as s:
        campaign = Campaign(name="x", segment="all", message_en="hi", ends_at=utc(2026, 12, 1))
        s.add(campaign)
        s.flush()
        segment = segments.parse_segment(s, "all")
        assert lifecycle.materialise(s, campaign, segment) == 3
        assert lifecycle.materialise(s, campaign, segment) == 0
        # the unique constraint is the last line of defence
        with pytest.raises(Exception):
            with s.begin_nested():
                s.add(CampaignRecipient(campaign_id=campaign.id, customer_id=reachable.globex))
                s.flush()


def test_a_rep_cannot_create_or_send(engine, db, reachable):
    assert "manager" in say(engine, "UALICE", NEW.replace("Spring renewal", "Rep's")).text
    say(engine, "UMARIA", NEW)
    for line in ('/crm campaign send "Spring renewal"', '/crm campaign send "Spring renewal" confirm'):
        reply = say(engine, "UALICE", line)
        assert reply.error and "manager" in reply.text
    assert _count(db, CampaignRecipient) == 0
    # reps may read the results
    assert not say(engine, "UALICE", '/crm campaign report "Spring renewal"').error
    assert not say(engine, "UALICE", "/crm campaign list").error


def test_sending_refused_when_nobody_can_be_reached_or_the_campaign_ended(engine, db, clock, reachable):
    say(engine, "UMARIA", '/crm campaign new "Initech only" segment="owner=@bob stage=lead language=en" '
                          'end="in 2 weeks" en=hi')
    reply = say(engine, "UMARIA", '/crm campaign send "Initech only" confirm')
    assert reply.error and "Nobody" in reply.text
    say(engine, "UMARIA", NEW)
    clock.now += timedelta(days=30)
    ended = say(engine, "UMARIA", '/crm campaign send "Spring renewal" confirm')
    assert ended.error and "ended" in ended.text
    assert _count(db, CampaignRecipient) == 0


def test_a_future_start_is_scheduled(engine, db, reachable):
    say(engine, "UMARIA", '/crm campaign new "Later" segment=all start="next monday" end="in 3 weeks" en=hi')
    ask = say(engine, "UMARIA", '/crm campaign send Later')
    assert "at its start" in ask.buttons[0].confirm
    listing = say(engine, "UMARIA", "/crm campaign list")
    assert "Later · draft" in listing.plain_text()


# ---------------------------------------------------------------- attribution and report


def _sent(s, campaign, customer_id, at, status="sent"):
    s.add(CampaignRecipient(campaign_id=campaign.id, customer_id=customer_id, status=status,
                            sent_at=at if status == "sent" else None, telegram_message_id=1 if status == "sent" else None))


def _inbound(s, customer_id, at, channel="telegram", direction="inbound"):
    s.add(Interaction(customer_id=customer_id, kind="message", channel=channel, direction=direction,
                      occurred_at=at, text="reply"))


@pytest.fixture
def attribution(db, reachable):
    """Campaign A (sent 23 Nov 10:00, ends 30 Nov) and B (sent 25 Nov 10:00, ends 10 Dec)."""
    team = reachable
    with db.session() as s:
        extra = [create_customer(s, f"Extra {i}", telegram_chat_id=9100 + i).id for i in range(3)]
        a = Campaign(name="A", segment="all", message_en="a", status="sent", budget=300, sent_at=utc(2026, 11, 23, 10),
                     starts_at=utc(2026, 11, 23, 10), ends_at=utc(2026, 11, 30, 23, 59))
        b = Campaign(name="B", segment="all", message_en="b", status="sent", budget=0, sent_at=utc(2026, 11, 25, 10),
                     starts_at=utc(2026, 11, 25, 10), ends_at=utc(2026, 12, 10))
        s.add_all([a, b])
        s.flush()
        sent_a = utc(2026, 11, 23, 10)
        for customer_id in (team.globex, team.wang, team.li, *extra):
            _sent(s, a, customer_id, sent_a)
        _sent(s, a, team.initech, None, status="blocked")
        _sent(s, b, extra[2], utc(2026, 11, 25, 10))
        _inbound(s, team.globex, utc(2026, 11, 24, 9))  # inside A: counts
        _inbound(s, team.globex, utc(2026, 11, 24, 10))  # the same customer again: one replier, two replies
        _inbound(s, team.wang, utc(2026, 12, 5, 9))  # after A ended: no
        _inbound(s, team.li, utc(2026, 11, 23, 9))  # before A was sent: no
        _inbound(s, extra[0], utc(2026, 11, 24, 9), direction="outbound")  # our own message: no
        _inbound(s, extra[1], utc(2026, 11, 24, 9), channel="console")  # not a Telegram message: no
        _inbound(s, extra[2], utc(2026, 11, 24, 9))  # before B: A's
        _inbound(s, extra[2], utc(2026, 11, 26, 9))  # after B reached them: B's (last touch)
        _inbound(s, team.initech, utc(2026, 11, 24, 9))  # A never reached Initech (blocked): no
        s.add_all([Deal(customer_id=team.globex, amount=12000, created_at=utc(2026, 11, 25)),  # within 30 days
                   Deal(customer_id=team.wang, amount=5000, created_at=utc(2026, 12, 30)),  # 37 days later: no
                   Deal(customer_id=team.li, amount=7000, created_at=utc(2026, 11, 1))])  # before: no
    return {"a": a.id, "b": b.id, "extra": extra}


@pytest.mark.store
def test_replies_are_attributed_to_the_last_campaign_within_its_window(db, reachable, attribution):
    with db.session() as s:
        a = results.report(s, s.get(Campaign, attribution["a"]))
        b = results.report(s, s.get(Campaign, attribution["b"]))
        assert results.campaign_for_reply(s, attribution["extra"][2], utc(2026, 11, 26, 9)) == attribution["b"]
        assert results.campaign_for_reply(s, attribution["extra"][2], utc(2026, 11, 24, 9)) == attribution["a"]
        assert results.campaign_for_reply(s, reachable.wang, utc(2026, 12, 5, 9)) is None
    assert (a.recipients, a.attempted, a.delivered) == (7, 7, 6)
    assert (a.replied, a.replies) == (2, 3)  # Globex (twice) and extra[2] before B
    assert (a.deals, a.deal_amount) == (1, 12000.0)
    assert a.cost_per_reply == 150.0 and a.reply_rate == pytest.approx(2 / 6)
    assert a.replies_by_day == [(utc(2026, 11, 24).date(), 2)]
    assert (b.replied, b.replies, b.cost_per_reply) == (1, 1, 0.0)


def test_report_command_with_chart(engine, db, reachable, attribution, charts):
    reply = say(engine, "UMARIA", "/crm campaign report A")
    assert not reply.error, reply.text
    fields = dict(reply.fields)
    assert (fields["Sent"], fields["Delivered"], fields["Replied"]) == ("7", "6", "2 (33%)")
    assert fields["Deals opened within 30 days"] == "1 · $12,000"
    assert fields["Cost per reply"] == "$150.00" and fields["Budget"] == "$300"
    assert "Blocked the bot: 1" in reply.plain_text()
    chart = Path(reply.image_path)
    assert chart.parent == charts and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    zh = say(engine, "UBOB", "/crm campaign report A")
    assert dict(zh.fields)["单次回复成本"] == "$150.00"


# ---------------------------------------------------------------- hostile input

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st  # noqa: E402

HOSTILE = st.lists(st.sampled_from(list('abc =",“”{}%_\\#@0123456789天周月\n\t')
                                   + ["tier=", "segment=", "end=", "en=", "confirm", "all", "7d"]),
                   max_size=25).map("".join)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from(["campaign ", "campaign new ", "campaign new \"Q\" ", "campaign preview ",
                             "campaign send ", "campaign report ", "stats ", "stats team "]), tail=HOSTILE)
def test_hostile_campaign_and_stats_input_never_crashes(engine, db, reachable, head, tail):
    reply = say(engine, "UMARIA", "/crm " + head + tail)
    assert reply.text.strip() and "went wrong" not in reply.text, reply.text  # an apology = an unhandled error


def test_previewing_a_campaign_that_does_not_exist(chat, team):
    reply = chat.push("/crm campaign preview x", as_="maria")
    assert reply.error and "No campaign is called “x”" in reply.text
    assert reply.usage and reply.usage.startswith("campaign ")


def test_report_names_the_deals_it_brought_per_currency(engine, db, reachable, attribution, charts):
    """Issue 15 item 4: a ¥50,000 deal is not $50,000 in the campaign's results either."""
    with db.session() as s:
        s.add(Deal(customer_id=reachable.globex, amount=50000, currency="CNY", created_at=utc(2026, 11, 26)))
    fields = dict(say(engine, "UMARIA", "/crm campaign report A").fields)
    assert fields["Deals opened within 30 days"] == "2 · $12,000 + CN¥50,000"
