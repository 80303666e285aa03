"""Operators can see it: GET /metrics after real requests, and JSON logs that stay redacted."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from tests.fakes.slack_api import slack_api  # noqa: F401
from tests.fakes.telegram_api import telegram_api  # noqa: F401
from tests.slack_harness import slack_bot  # noqa: F401
from tests.telegram_support import eventually, telegram_bot  # noqa: F401


def scrape(base: str) -> dict[tuple, float]:
    """Every sample of GET /metrics as {(name, sorted labels): value}."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_slack_requests_and_acks_are_counted_per_route_platform_and_status(slack_bot):  # noqa: F811
    base = slack_bot.url.rsplit("/slack/events", 1)[0]
    before = scrape(base)
    assert value(before, "crm_http_requests_total", route="/slack/events", platform="slack", status="200") == 0

    for _ in range(3):
        slack_bot.ask("help")
    assert slack_bot.post("command=%2Fcrm&text=help", "application/x-www-form-urlencoded",
                          secret="wrong-secret").status_code == 401
    assert httpx.get(f"{base}/no/such/path?x=1").status_code == 404

    after = scrape(base)
    assert value(after, "crm_http_requests_total", route="/slack/events", platform="slack", status="200") == 3
    assert value(after, "crm_http_requests_total", route="/slack/events", platform="slack", status="401") == 1
    # unknown paths share one series: nothing from outside grows the label set
    assert value(after, "crm_http_requests_total", route="other", platform="none", status="404") == 1
    assert not any("/no/such/path" in str(key) for key in after)
    assert value(after, "crm_ack_duration_seconds_count", platform="slack") == 4
    assert value(after, "crm_ack_duration_seconds_bucket", platform="slack", le="3.0") == 4
    assert value(after, "crm_http_request_duration_seconds_count", route="/slack/events", platform="slack") == 4
    # store gauges answer, the journal is empty once every command is answered
    assert value(after, "crm_store_up") == 1
    eventually(lambda: value(scrape(base), "crm_command_journal_unanswered", platform="slack") == 0)


def test_telegram_updates_relay_and_backlogs_show_on_metrics(db, settings, clock, telegram_api, slack_api, team):  # noqa: F811
    from tests.telegram_support import TelegramBot, telegram_settings

    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    try:
        base = f"http://127.0.0.1:{bot.port}"
        for n in range(3):
            bot.say(7101, f"hello {n}")
        bot.settle()
        samples = scrape(base)
        assert value(samples, "crm_http_requests_total", route="/telegram/webhook", platform="telegram",
                     status="200") == 3
        assert value(samples, "crm_ack_duration_seconds_count", platform="telegram") == 3
        assert value(samples, "crm_relay_messages_total", target="slack", outcome="sent") == 3
        assert value(samples, "crm_relay_posts_total", target="slack") >= 1
        for status in ("pending", "sending"):
            assert value(samples, "crm_outbox_rows", target="slack", status=status) == 0
        # a row nobody can deliver yet is a backlog every instance reports
        with bot.app.metrics.db.write_session() as s:
            from crm.models import InboxOutbox

            s.add(InboxOutbox(target="telegram", kind="reply", chat_id=7101, payload='{"text": "later"}',
                              next_attempt_at=datetime.now(timezone.utc) + timedelta(days=365)))
        samples = scrape(base)
        assert value(samples, "crm_outbox_rows", target="telegram", status="pending") == 1
        assert value(samples, "crm_outbox_oldest_pending_seconds", target="telegram") >= 0
        # acknowledged Telegram updates not yet processed (stored as they came, telegram_inbound)
        assert value(samples, "crm_telegram_inbound_unprocessed") == 0
        with bot.app.metrics.db.write_session() as s:
            from crm.models import TelegramInbound

            s.add(TelegramInbound(update_id=99_000_001, chat_id=7101, body="{}",
                                  received_at=datetime.now(timezone.utc) - timedelta(seconds=30),
                                  lease_until=datetime.now(timezone.utc) + timedelta(days=1), claimed_by="elsewhere"))
        samples = scrape(base)
        assert value(samples, "crm_telegram_inbound_unprocessed") == 1
        assert value(samples, "crm_telegram_inbound_oldest_seconds") >= 30
    finally:
        bot.close()


def test_each_app_has_its_own_registry(db, settings):
    one, two = App(settings, db, instance="one"), App(settings, db, instance="two")
    one.metrics.record_relay("telegram", "sent")
    assert b'crm_relay_messages_total{outcome="sent",target="telegram"} 1.0' in one.metrics.render()
    assert b'crm_relay_messages_total{outcome="sent",target="telegram"}' not in two.metrics.render()
    assert b"crm_sqlite_writer_queue" in two.metrics.render()


def test_json_logs_are_one_object_a_line_and_redacted(tmp_path):
    script = (
        "import logging\n"
        "from bot.logs import configure\n"
        "configure('INFO')\n"
        "log = logging.getLogger('crm.test')\n"
        "log.warning('sent to %s with %s', 'ops@globex.example', 'xoxb-1234-5678-abcdefgh')\n"
        "try:\n"
        "    raise RuntimeError('token 123456789:AAHabcdefghijklmnopqrstuvwxyz12345 leaked')\n"
        "except RuntimeError:\n"
        "    log.exception('it failed for %s', 'ann@example.com', extra={'ticket': 42})\n")
    env = dict(os.environ, LOG_FORMAT="json")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(entries) == 2
    first, second = entries
    assert first["level"] == "WARNING" and first["logger"] == "crm.test" and first["time"].endswith("+00:00")
    assert first["message"] == "sent to [email] with xox?-[redacted]"
    assert "ann@example.com" not in second["message"] and "[email]" in second["message"]
    assert "RuntimeError" in second["exception"] and "AAHabcdefghijklmnop" not in second["exception"]
    assert second["ticket"] == 42
    assert "ops@globex" not in done.stderr and "xoxb-1234" not in done.stderr


def test_text_logs_stay_the_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    script = "import logging\nfrom bot.logs import configure\nconfigure('INFO')\nlogging.getLogger('x').warning('hi ops@globex.example')\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert "WARNING x: hi [email]" in done.stderr
    assert not done.stderr.lstrip().startswith("{")


def test_an_update_ptb_cannot_parse_moves_a_counter_on_metrics(db, settings, clock, telegram_api, slack_api):  # noqa: F811
    """Issue 14 counted unparseable updates in memory only; operators must be able to alert on them."""
    import json
    from pathlib import Path

    from tests.telegram_support import TelegramBot, telegram_settings

    update = json.loads((Path(__file__).parent / "payloads" / "telegram" / "unparseable_message.json").read_text())
    update.pop("_source")
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    try:
        base = f"http://127.0.0.1:{bot.port}"
        before = value(scrape(base), "crm_telegram_unparseable_updates_total", kind="message")
        assert bot.post(update).status_code == 200
        # an unknown update field is counted under one closed label: nothing from outside grows the series
        assert bot.post({"update_id": update["update_id"] + 1, "no_such_kind_abc": {"x": 1}}).status_code == 200
        after = scrape(base)
        assert value(after, "crm_telegram_unparseable_updates_total", kind="message") == before + 1
        assert not any("no_such_kind_abc" in str(key) for key in after)
    finally:
        bot.close()
