"""The scheduler inside `crm-bot run` with the real Slack adapter, against the Slack Web API stand-in:
digests and reminders arrive as DMs (chart uploaded), their buttons work, a failed post is retried."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import App
from crm.models import Task
from scheduler.service import SchedulerService
from tests.helpers import utc
from tests.scheduler_support import FAST_PASS
from tests.slack_harness import SECRET, SlackBot, all_text, buttons

pytestmark = pytest.mark.timeout(120)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class RunningBot(SlackBot):
    """`crm-bot run` as uvicorn serves it: Slack adapter and scheduler started by the lifespan."""

    def next_pass(self) -> None:
        service = self.app.scheduler
        asyncio.run_coroutine_threadsafe(service.next_pass(), service.loop).result(30)

    def at(self, clock, moment) -> None:
        clock.now = moment
        self.next_pass()

    def dms_to(self, channel: str, *, failed: bool = False) -> list[dict]:
        """What Slack accepted for a DM channel (or, with ``failed``, what it refused)."""
        return [c.params for c in self.fake.calls_to("chat.postMessage")
                if c.params.get("channel") == channel and c.ok != failed]


@pytest.fixture
def crm_bot(db, settings, clock, slack_api, team, app_host):
    settings = settings.model_copy(update={"slack_bot_token": "xoxb-test", "slack_signing_secret": SECRET,
                                           "slack_api_url": slack_api.api_url})
    clock.now = utc(2026, 11, 23, 7, 59)  # 07:59 in London, where Maria manages Alice and Bob
    app = App(settings, db, clock=clock)
    app.configure_adapters()
    app.scheduler = SchedulerService(app, pass_seconds=FAST_PASS)
    app_host.mount(app)
    bot = RunningBot(app, slack_api, app_host.port)
    bot.next_pass()
    yield bot
    bot.close()
    app_host.unmount()


def _task(db, task_id) -> Task:
    with db.session() as s:
        return s.get(Task, task_id)


def test_the_digest_is_a_dm_to_the_manager_with_the_chart_uploaded(crm_bot, clock, team, tmp_path):
    assert crm_bot.dms_to("DMARIA") == []
    crm_bot.at(clock, utc(2026, 11, 23, 8, 0, 10))
    [digest] = crm_bot.dms_to("DMARIA")
    assert digest["text"].startswith("☀️ Team digest for Maria Manager")
    text = all_text(digest)
    assert "Alice Rep" in text and "Bob Rep" in text

    [complete] = crm_bot.fake.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == "DMARIA"
    chart = tmp_path / "charts" / f"digest-manager-{team.manager}-20261123.png"  # named after the day it is sent
    uploaded = crm_bot.fake.uploads[complete.params["files"][0]["id"]]
    assert uploaded.startswith(PNG_MAGIC) and uploaded == chart.read_bytes()

    crm_bot.at(clock, utc(2026, 11, 23, 9))
    assert len(crm_bot.dms_to("DMARIA")) == 1
    assert len(crm_bot.fake.calls_to("files.completeUploadExternal")) == 1


def test_a_reminder_dm_and_its_buttons(crm_bot, clock, db, team):
    with db.session() as s:
        task = Task(owner_id=team.alice, customer_id=team.globex, title="send the proposal",
                    due_at=utc(2026, 11, 23, 20))  # 15:00 in New York
        s.add(task)
        s.flush()
        task_id = task.id
    crm_bot.at(clock, utc(2026, 11, 23, 19, 59, 30))
    assert crm_bot.dms_to("DALICE") == []
    crm_bot.at(clock, utc(2026, 11, 23, 20, 0, 5))
    [reminder] = crm_bot.dms_to("DALICE")
    assert "send the proposal" in reminder["text"] and "Globex Corporation" in all_text(reminder)
    pressable = buttons(reminder["blocks"])

    snooze = pressable.get("Snooze 1h") or pressable["⋯ Snooze 1h"]
    assert crm_bot.click(snooze, "UALICE", option=None if "Snooze 1h" in pressable else "Snooze 1h").status == 200
    deadline = asyncio.run(_until(lambda: _task(db, task_id).due_at == utc(2026, 11, 23, 21, 0, 5)))
    assert deadline, _task(db, task_id).due_at

    crm_bot.at(clock, utc(2026, 11, 23, 21, 0, 10))
    assert len(crm_bot.dms_to("DALICE")) == 2
    done = buttons(crm_bot.dms_to("DALICE")[-1]["blocks"])["Done"]
    assert crm_bot.click(done, "UALICE").status == 200
    assert asyncio.run(_until(lambda: _task(db, task_id).status == "done"))
    crm_bot.at(clock, utc(2026, 11, 24, 21))
    assert len(crm_bot.dms_to("DALICE")) == 2


def test_a_failed_slack_post_is_retried_and_delivered_once(crm_bot, clock, db, team):
    with db.session() as s:
        task = Task(owner_id=team.bob, title="回电话", due_at=utc(2026, 11, 23, 7))  # 15:00 in Shanghai
        s.add(task)
        s.flush()
        task_id = task.id
    crm_bot.fake.fail_next("chat.postMessage", error="fatal_error")
    crm_bot.next_pass()
    failed = _task(db, task_id)
    assert failed.reminded_at is None and "fatal_error" in failed.last_error
    crm_bot.at(clock, utc(2026, 11, 23, 7, 59) + timedelta(seconds=31))
    delivered = [m for m in crm_bot.dms_to("DBOB") if "回电话" in m["text"]]
    assert len(delivered) == 1
    assert _task(db, task_id).reminder_attempts == 2
    crm_bot.at(clock, utc(2026, 11, 23, 8, 30))
    assert len([m for m in crm_bot.dms_to("DBOB") if "回电话" in m["text"]]) == 1


async def _until(condition, timeout: float = 10) -> bool:
    for _ in range(int(timeout / 0.05)):
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.05)
    return False
