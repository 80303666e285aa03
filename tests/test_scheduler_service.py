"""The service's wiring: what `crm-bot run` schedules, and the nightly insight job run once per night."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.app import App
from crm.models import InsightBlob
from scheduler.service import INSIGHTS_LOCK, SchedulerService, claim_nightly_lock
from tests.helpers import utc


async def test_crm_bot_run_wires_the_scheduler_with_a_pass_and_the_nightly_job(db, settings, clock):
    settings = settings.model_copy(update={"crm_timezone": "Asia/Shanghai"})
    app = App(settings, db, clock=clock)
    app.configure_scheduler()
    assert isinstance(app.scheduler, SchedulerService)
    await app.start()
    try:
        jobs = {job.id: job for job in app.scheduler._scheduler.get_jobs()}
        assert set(jobs) == {"pass", "insights", "files"}  # files: expired exports and charts
        nightly = jobs["insights"].next_run_time
        assert (nightly.hour, nightly.minute, str(nightly.tzinfo)) == (2, 30, "Asia/Shanghai")
        await app.scheduler.next_pass()
    finally:
        await app.stop()
    assert app.scheduler._scheduler is None


@pytest.mark.store
def test_one_instance_takes_the_nightly_job_and_old_locks_are_cleared(db):
    night = date(2026, 11, 23)
    assert claim_nightly_lock(db, night, "a")
    assert not claim_nightly_lock(db, night, "b")
    for offset in range(1, 10):
        assert claim_nightly_lock(db, night + timedelta(days=offset), "b")
    with db.session() as s:
        keys = sorted(k for k in s.exec(select(InsightBlob.key)) if k.startswith(INSIGHTS_LOCK))
    assert keys[0] == INSIGHTS_LOCK + "2026-11-25" and len(keys) == 8  # a week back, plus tonight


@pytest.mark.store
async def test_two_instances_run_the_nightly_refresh_once(db, settings, clock, team):
    pytest.importorskip("crm.insights.job")
    clock.now = utc(2026, 11, 23, 2, 30)
    first, second = App(settings, db, clock=clock, instance="a"), App(settings, db, clock=clock, instance="b")
    ran = [await SchedulerService(first).refresh_insights(), await SchedulerService(second).refresh_insights()]
    assert ran[0] is not None and ran[1] is None
    with db.session() as s:
        lock = s.get(InsightBlob, INSIGHTS_LOCK + "2026-11-23")
    assert lock.payload == b"a"
