"""`crm-bot digest [--manager NAME] [--print]`."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.settings import get_settings
from crm.models import DigestRun

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_print_shows_every_managers_digest_and_the_chart_path(cli, team, capsys, tmp_path):
    assert cli(["digest", "--print"]) == 0
    out = capsys.readouterr().out
    assert "Team digest for Maria Manager" in out and "Alice Rep" in out
    chart_line = next(line for line in out.splitlines() if line.startswith("Chart: "))
    chart = chart_line.removeprefix("Chart: ").strip()
    assert chart.startswith(str(tmp_path / "charts")) and open(chart, "rb").read(8) == PNG_MAGIC


def test_print_for_one_rep_builds_their_personal_digest(cli, team, capsys):
    assert cli(["digest", "--manager", "Bob Rep", "--print"]) == 0
    out = capsys.readouterr().out
    assert "Personal digest for Bob Rep" in out and "你的每日摘要" in out


@pytest.mark.parametrize("argv, fragment", [
    (["digest", "--manager", "Nobody", "--print"], "No colleague called “Nobody”"),
    (["digest", "--manager", "Maria Manager"], "no Slack or Telegram credentials are configured"),
])
def test_errors_are_one_line_and_non_zero(cli, team, capsys, argv, fragment):
    assert cli(argv) != 0
    captured = capsys.readouterr()
    assert fragment in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err + captured.out


def test_no_managers_yet(cli, db, capsys):
    assert cli(["digest", "--print"]) != 0
    assert "no managers yet" in capsys.readouterr().err


def test_send_goes_to_slack_and_counts_as_todays_digest(cli, db, team, slack_api, monkeypatch, capsys):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_API_URL", slack_api.api_url)
    get_settings.cache_clear()
    assert cli(["digest", "--manager", "Maria Manager"]) == 0
    assert "Sent Maria Manager's digest via slack." in capsys.readouterr().out
    [post] = [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == "DMARIA"]
    assert post.params["text"].startswith("☀️ Team digest for Maria Manager")
    [upload] = slack_api.calls_to("files.completeUploadExternal")
    assert slack_api.uploads[upload.params["files"][0]["id"]].startswith(PNG_MAGIC)
    with db.session() as s:
        [run] = s.exec(select(DigestRun)).all()
    today_in_london = datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/London")).date()
    assert (run.staff_id, run.run_date, run.status) == (team.manager, today_in_london, "sent")

    assert cli(["digest", "--manager", "Maria Manager"]) == 0  # asked again: sent again, said so
    assert "an extra copy" in capsys.readouterr().out
