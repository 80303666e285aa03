"""Slack's own limits: customers writing faster than ~1 post/s per channel are coalesced, in
order, nothing lost, and Slack's Retry-After is honoured (the stand-in enforces the limit)."""
from __future__ import annotations

import json
import re
import threading

import pytest
from sqlmodel import select

from crm.models import RelayedMessage
from integrations import relay_pacing
from integrations.relay_pacing import ChannelPacer, retry_after
from tests.fakes.slack_api import slack_api  # noqa: F401
from tests.fakes.telegram_api import telegram_api  # noqa: F401
from tests.slack_harness import all_text
from tests.telegram_support import TelegramBot, eventually, telegram_settings


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_pacer_allows_a_burst_then_one_post_per_interval_per_channel():
    clock = FakeClock()
    pacer = ChannelPacer(rate=1.0, burst=3, clock=clock)
    assert [pacer.reserve("C1") for _ in range(3)] == [0, 0, 0]  # the burst (the relay's default is 2)
    assert [pacer.reserve("C1") for _ in range(2)] == [1.0, 2.0]  # then one a second
    assert pacer.reserve("C2") == 0  # channels are paced separately
    clock.now += 10  # idle: the burst is available again
    assert [pacer.reserve("C1") for _ in range(3)] == [0, 0, 0]


def _within_rate(moments: list[float], rate: float, burst: int) -> bool:
    """The stand-in's own rule (a generic cell rate): ``rate`` a second after a burst of ``burst``."""
    interval, tat = 1.0 / rate, float("-inf")
    for moment in sorted(moments):
        if moment < tat - interval * (burst - 1) - 1e-9:
            return False
        tat = max(tat, moment) + interval
    return True


async def test_posts_leave_within_the_rate_even_when_one_was_delayed_past_its_slot(monkeypatch):
    # a post delayed past its slot (a busy machine claiming and drawing it) must not go out together
    # with the next ones, whose slots are already due: Slack would see them back to back
    clock = FakeClock()

    async def sleep(seconds):
        clock.now += seconds

    monkeypatch.setattr(relay_pacing.asyncio, "sleep", sleep)
    pacer = ChannelPacer(rate=2.0, burst=2, clock=clock)
    left: list[float] = []

    async def post():
        await pacer.spaced("C1")
        left.append(clock.now)

    assert [pacer.reserve("C1"), pacer.reserve("C1")] == [0, 0]  # the burst: both slots due at once
    clock.now += 0.4  # the first is late: claiming and drawing it took a while
    await post()
    await post()
    await pacer.slot("C1")  # the third slot comes due; it must also wait for what actually left
    await post()
    await pacer.slot("C1")
    await post()
    assert _within_rate(left, rate=2.0, burst=2), left
    await pacer.spaced("C2")  # another channel is not held up
    assert clock.now == left[-1]
    clock.now += 5  # a quiet channel posts at once, and twice (the burst)
    before = clock.now
    await post()
    await post()
    assert left[-2:] == [before, before]


def test_pacer_stops_a_channel_for_retry_after():
    clock = FakeClock()
    pacer = ChannelPacer(rate=1.0, burst=3, clock=clock)
    pacer.pause("C1", 7)
    assert pacer.reserve("C1") == pytest.approx(7.0)
    assert pacer.reserve("C1") == pytest.approx(8.0)  # after the pause, one at a time
    assert pacer.reserve("C2") == 0


async def test_a_lane_stopped_while_waiting_gives_its_slot_back():
    """The pace is shared through the store: a stopping instance's queued lanes must not leave slots that
    nobody will use, or every instance would wait for them."""
    import asyncio

    clock = FakeClock()
    pacer = ChannelPacer(rate=1.0, burst=1, clock=clock)
    assert pacer.reserve("C1") == 0
    waiting = asyncio.create_task(pacer.slot("C1"))  # the next slot: a second from now
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pacer.reserve("C1") == pytest.approx(1.0)  # that slot again, not the one after it


def test_retry_after_reads_slack_sdk_errors():
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

    def error(status, headers):
        response = AsyncSlackResponse(client=None, http_verb="POST", api_url="x", req_args={},
                                      data={"ok": False, "error": "ratelimited"}, headers=headers,
                                      status_code=status)
        return SlackApiError("ratelimited", response)

    assert retry_after(error(429, {"Retry-After": "30"})) == 30
    assert retry_after(error(429, {"retry-after": ["2"]})) == 2
    assert retry_after(error(429, {})) == 1
    assert retry_after(error(200, {})) is None
    assert retry_after(RuntimeError("network")) is None


def burst_into_one_channel(db, settings, clock, telegram_api, slack_api, team, *, customers: int,  # noqa: F811
                           each: int, rate: float) -> tuple[TelegramBot, list[int]]:
    """``customers`` chats writing ``each`` messages at once, as fast as the webhook takes them."""
    slack_api.limit_rate("chat.postMessage", per_second=rate, burst=4)
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    chats = [7200 + n for n in range(customers)]

    def write(chat: int) -> None:
        for n in range(each):
            bot.say(chat, f"m{chat}-{n:04d} " + "words " * (n % 7))

    writers = [threading.Thread(target=write, args=(chat,)) for chat in chats]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    return bot, chats


@pytest.mark.solo  # spacing between posts is the subject: a busy second worker would add jitter
def test_a_burst_reaches_slack_within_the_rate_limit_in_order_none_lost(db, settings, clock, telegram_api,  # noqa: F811
                                                                       slack_api, team, monkeypatch):  # noqa: F811
    # Slack's 1/s scaled up 2× (both sides), so the test takes seconds, not minutes; the stand-in's
    # burst of 4 against the relay's 2 leaves two intervals (1 s) for jitter between a post's slot and
    # its arrival (the claim and the rendering run in between; one interval of 250 ms at 4× was
    # breached on a quiet CI machine). Unpaced, the ~18 posts would still arrive at once and fail.
    monkeypatch.setattr(relay_pacing, "RATE_PER_CHANNEL", 2.0)
    own_transaction = []  # per post leaving: whether its departure was counted in a transaction of its own
    take_departure = relay_pacing.StoreCells.take_departure
    monkeypatch.setattr(relay_pacing.StoreCells, "take_departure", lambda cells, *a, conn=None: (
        own_transaction.append(conn is None) or take_departure(cells, *a, conn=conn)))
    customers, each = 4, 60
    bot, chats = burst_into_one_channel(db, settings, clock, telegram_api, slack_api, team, customers=customers,
                                        each=each, rate=2.0)
    try:
        bot.settle(timeout=90)
        posts = slack_api.calls_to("chat.postMessage")
        refused = [c for c in posts if not c.ok]
        assert not refused, f"{len(refused)} of {len(posts)} posts over Slack's limit"
        inbox_posts = [c for c in posts if c.params.get("channel") == "C0INBOX"]
        # coalesced: far fewer posts than messages
        assert len(inbox_posts) < customers * each / 3, len(inbox_posts)
        seen: dict[int, list[int]] = {chat: [] for chat in chats}
        for call in inbox_posts:
            # a post shows its text twice (fallback text and blocks): each message counts once per post
            in_post = dict.fromkeys(re.findall(r"m(\d+)-(\d{4})", json.dumps(call.params, ensure_ascii=False)))
            for chat, n in in_post:
                seen[int(chat)].append(int(n))
        for chat in chats:
            assert seen[chat] == list(range(each)), chat  # every message once, in the order written
        rows = bot.outbox(target="slack")
        assert len(rows) == customers * each and {r.status for r in rows} == {"sent"}
        assert len(own_transaction) >= len(inbox_posts)
        if db.dialect == "sqlite":  # each post's departure counted in the transaction that claimed its rows
            assert not any(own_transaction)
        else:  # PostgreSQL counts it in an autocommit step of its own, shared at once with other instances
            assert all(own_transaction)
        # the counter moves just after the rows are marked sent, so it may trail the outbox briefly
        sent_line = f'crm_relay_messages_total{{outcome="sent",target="slack"}} {float(customers * each)}'
        eventually(lambda: sent_line in bot.app.metrics.render().decode(), timeout=10,
                   message=f"/metrics never showed {sent_line}")
    finally:
        bot.close()


def test_retry_after_on_429_is_honoured_and_nothing_is_posted_twice(db, settings, clock, telegram_api,  # noqa: F811
                                                                    slack_api, team):  # noqa: F811
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    try:
        bot.say(7301, "first")
        bot.settle()
        # Slack refuses more often than slack_sdk's own retries cover: the relay waits as told, then posts
        slack_api.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1, times=5)
        started = len(slack_api.calls)
        bot.say(7301, "second")
        bot.settle(timeout=60)
        attempts = [c for c in slack_api.calls[started:] if c.method == "chat.postMessage"]
        assert [c.ok for c in attempts] == [False] * 5 + [True]
        gaps = [b.at - a.at for a, b in zip(attempts, attempts[1:])]
        assert all(gap >= 0.95 for gap in gaps), gaps  # Retry-After: 1
        assert sum("second" in all_text(c.params) for c in attempts if c.ok) == 1
        [row] = [r for r in bot.outbox(target="slack") if "second" in r.payload]
        assert row.status == "sent" and row.attempts <= 2
        assert b'crm_rate_limited_total{method="chat.postMessage",platform="slack"} 1.0' in bot.app.metrics.render()
    finally:
        bot.close()


def test_an_edit_of_a_coalesced_message_is_posted_anew_not_over_the_shared_post(db, settings, clock,  # noqa: F811
                                                                                telegram_api, slack_api,  # noqa: F811
                                                                                team, monkeypatch):
    monkeypatch.setattr(relay_pacing, "RATE_PER_CHANNEL", 2.0)
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    try:
        sent = [bot.say(7400, f"q7400-{n:02d} is it in stock") for n in range(10)]
        bot.settle(timeout=60)
        posts = [c for c in slack_api.calls_to("chat.postMessage") if c.ok]
        markers = [re.findall(r"q7400-(\d\d)", json.dumps(c.params, ensure_ascii=False)) for c in posts]
        shared = next(p for p, found in zip(posts, markers) if len(set(found)) >= 2)  # a coalesced post
        first_shared = int(sorted(set(re.findall(r"q7400-(\d\d)", json.dumps(shared.params))))[0])
        original = sent[first_shared]["message"]
        edited = {"update_id": original["message_id"] + 10_000,
                  "edited_message": {**original, "text": "q7400-edited is it in stock now",
                                     "edit_date": original["date"] + 60}}
        bot.send(edited)
        slack_api.wait_for("chat.postMessage", where=lambda c: "q7400-edited" in json.dumps(c.params), timeout=30)
        # the shared post is not overwritten with the one edited message: the others stay as written
        assert not any("q7400-edited" in json.dumps(u.params) for u in slack_api.calls_to("chat.update"))
        with db.session() as s:
            link = s.exec(select(RelayedMessage).where(RelayedMessage.telegram_message_id == original["message_id"],
                                                       RelayedMessage.direction == "inbound")).first()
        assert link is not None and link.part == relay_pacing.BATCH_PART
    finally:
        bot.close()


def test_a_thread_another_instance_is_sending_is_left_to_it_not_polled_on_every_wake(  # noqa: F811
        db, settings, clock, telegram_api, slack_api, team, monkeypatch):
    """Two instances share the store: the other one holds this thread's first row ("sending", it is
    opening the thread) and goes on with the thread itself. This instance must not re-read and re-claim that thread on
    every wake (each stored update wakes the relay): under a two-instance burst that loop took a
    third of an instance's CPU (bench/load_scaling.py profile)."""
    from crm.models import InboxOutbox, Ticket
    from crm.types import utcnow

    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    try:
        bot.say(7300, "first message opens the thread")
        bot.settle(timeout=30)
        with db.write_session() as s:
            rows_before = len(s.exec(select(InboxOutbox)).all())
            ticket = s.exec(select(Ticket)).one()
            ticket.slack_thread_ts = None  # the other instance is opening the thread with its first row
            s.add(ticket)
            for status in ("sending", "pending", "pending", "pending", "pending"):
                s.add(InboxOutbox(target="slack", kind="message", ticket_id=ticket.id, customer_id=ticket.customer_id,
                                  payload=json.dumps({"text": f"held by the other instance ({status})"}),
                                  status=status, claimed_by="other-instance" if status == "sending" else None,
                                  claimed_at=utcnow() if status == "sending" else None))
        # the relay's round reads one line per thread (its lane takes the rows), not the thread's backlog
        assert [due for due in bot.adapter.relay._due() if due[3] == ticket.id] == [
            (rows_before + 2, "slack", None, ticket.id)]
        reads = []  # the lane's store reads of this thread: where it goes, and its claims
        lane = bot.adapter.relay.threads
        for name in ("_target", "_claim", "_claim_leaving"):
            original = getattr(lane, name)
            monkeypatch.setattr(lane, name, lambda *a, _name=name, _original=original: reads.append(_name)
                                or _original(*a))
        for _ in range(40):  # a burst of other chats' updates, each waking the relay
            bot.adapter.wake()
            threading.Event().wait(0.025)
        threading.Event().wait(0.3)
        assert 1 <= len(reads) <= 4, f"{len(reads)} reads of a thread another instance is sending: {reads}"
        assert "_claim" not in reads and "_claim_leaving" not in reads  # its first row is not free: nothing to claim
        with db.session() as s:
            rows = s.exec(select(InboxOutbox).where(InboxOutbox.ticket_id == ticket.id)
                          .order_by(InboxOutbox.id)).all()
        assert [r.status for r in rows[-5:]] == ["sending"] + ["pending"] * 4  # left to the other instance
    finally:
        bot.close()


@pytest.mark.solo  # spacing between posts is the subject
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_instances_relaying_into_one_channel_share_its_pace(db, settings, clock, telegram_api,  # noqa: F811
                                                                slack_api, team, monkeypatch):  # noqa: F811
    """Slack's limit is per channel, not per instance: two instances on one store, each relaying some of
    the threads of one inbox channel, together stay within it (each used to pace only its own posts,
    and together posted twice the allowance)."""
    monkeypatch.setattr(relay_pacing, "RATE_PER_CHANNEL", 2.0)  # Slack's 1/s scaled up 2×, as above
    slack_api.limit_rate("chat.postMessage", per_second=2.0, burst=4)
    config = telegram_settings(settings, telegram_api, slack=slack_api)
    bots = [TelegramBot(db, config, clock, telegram_api, slack=slack_api),
            TelegramBot(db, config, clock, telegram_api, slack=slack_api)]
    bots[1].updates = bots[0].updates  # one Telegram: update ids never repeat
    customers, each = 6, 30
    chats = [7600 + n for n in range(customers)]
    try:
        def write(chat: int) -> None:
            for n in range(each):
                bots[(chat + n) % 2].say(chat, f"m{chat}-{n:04d} " + "words " * (n % 5))

        writers = [threading.Thread(target=write, args=(chat,)) for chat in chats]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        for bot in bots:
            bot.settle(timeout=120)
        posts = [c for c in slack_api.calls_to("chat.postMessage") if c.params.get("channel") == "C0INBOX"]
        refused = [c for c in posts if not c.ok]
        accepted = [c.at for c in posts if c.ok]
        busiest = max(sum(1 for t in accepted if start <= t < start + 1.0) for start in accepted)
        print(f"\n{len(posts)} posts into one channel from two instances: {len(accepted)} accepted, {len(refused)} "
              f"refused (429); at most {busiest} accepted in any second (the stand-in allows 2/s after a burst of 4)")
        assert not refused, f"{len(refused)} of {len(posts)} posts over Slack's limit"
        assert _within_rate(accepted, rate=2.0, burst=4)
        seen: dict[int, list[int]] = {chat: [] for chat in chats}
        for call in posts:
            for chat, n in dict.fromkeys(re.findall(r"m(\d+)-(\d{4})", json.dumps(call.params, ensure_ascii=False))):
                seen[int(chat)].append(int(n))
        for chat in chats:
            assert seen[chat] == list(range(each)), chat  # every message once, in the order written
        rows = bots[0].outbox(target="slack")
        assert len(rows) == customers * each and {r.status for r in rows} == {"sent"}
        relayed_by = {row.claimed_by for row in rows}
        assert relayed_by == {bot.app.instance for bot in bots}, relayed_by  # both relayed: the pace was shared
    finally:
        for bot in bots:
            bot.close()


@pytest.mark.parametrize("messages", [10, 1], ids=["coalesced", "alone"])
def test_a_post_whose_links_cannot_be_written_is_still_marked_sent_and_posted_once(  # noqa: F811
        db, settings, clock, telegram_api, slack_api, team, monkeypatch, messages):
    """The customer's messages were erased between the post reaching Slack and its rows being marked sent:
    the Telegram links of the post now break a foreign key (SQLite runs with foreign_keys=ON). The post is
    in Slack; marking its rows sent must not depend on those links, or the rows stay "sending" (a coalesced
    post) or are retried (one posted alone) and the same post goes out again."""
    from datetime import timedelta

    from sqlalchemy import text as sql

    from crm.claims import Lease
    from crm.inbox import outbox
    from crm.models import InboxOutbox

    monkeypatch.setattr(relay_pacing, "RATE_PER_CHANNEL", 2.0)
    # a short lease, so that a post left "sending" goes out again within the test (it is 2 minutes)
    monkeypatch.setattr(outbox, "SENDING", Lease(timedelta(seconds=2), stamp=InboxOutbox.claimed_at,
                                                 holder=InboxOutbox.claimed_by))
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    try:
        bot.say(7500, "e7500-opening the thread")
        bot.settle(timeout=30)
        customer_id = bot.customer(7500).id
        team_inbox = bot.app.engine.ports.team_inbox
        post_blocks = team_inbox.post_blocks
        erased = []

        def erase_interactions() -> None:  # what erasing the customer's messages meanwhile leaves behind
            with db.write_session() as s:
                ids = f"SELECT id FROM interaction WHERE customer_id = {customer_id}"
                s.execute(sql(f"UPDATE inbox_outbox SET interaction_id = NULL WHERE interaction_id IN ({ids})"))
                s.execute(sql(f"DELETE FROM relayed_message WHERE interaction_id IN ({ids})"))
                s.execute(sql(f"DELETE FROM interaction WHERE customer_id = {customer_id}"))

        async def post_then_erase(channel, thread_ts, text, blocks=None):
            ts = await post_blocks(channel, thread_ts, text, blocks)
            if not erased and len(set(re.findall(r"q7500-(\d\d)", json.dumps(blocks)))) >= min(messages, 2):
                import asyncio
                await asyncio.to_thread(erase_interactions)
                erased.append(ts)
            return ts

        monkeypatch.setattr(team_inbox, "post_blocks", post_then_erase)
        for n in range(messages):
            bot.say(7500, f"q7500-{n:02d} is it in stock")
        bot.settle(timeout=60)
        threading.Event().wait(3)  # longer than the lease: a post left "sending" would have gone out again
        bot.settle(timeout=30)
        assert erased, "no post of the messages was made (coalesced, when there are several)"
        posts = [c for c in slack_api.calls_to("chat.postMessage") if c.ok]
        posted = [n for c in posts for n in dict.fromkeys(re.findall(r"q7500-(\d\d)", json.dumps(c.params)))]
        assert posted == [f"{n:02d}" for n in range(messages)], posted  # each message once, in order
        rows = [r for r in bot.outbox(target="slack") if "q7500-" in r.payload]
        assert len(rows) == messages and {r.status for r in rows} == {"sent"}
        assert {r.attempts for r in rows} == {1}
    finally:
        bot.close()
