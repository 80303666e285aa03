"""`make bench` prints this run's figures beside the recorded 2026-11-23 run, row by row."""
from __future__ import annotations

from bench import run_all


def test_the_recorded_baseline_is_read_whole_with_its_measured_references():
    baseline = run_all.read_baseline()
    assert len(baseline) == 22
    assert baseline["load: slash commands"] == "126.0 req/s, p50 370.8 ms, p99 716.8 ms"
    assert baseline["Telegram ingestion (webhook → stored)"] == "79 msg/s; raw sqlite3 8,445 rows/s (×0.009)"
    assert baseline["campaign send rate"] == "29.02 msg/s"  # "limit 30.0 msg/s" is a target, not a figure


def test_the_summary_puts_the_baseline_beside_each_row_and_lists_rows_not_measured():
    load = run_all.Run("load", returncode=0, output="\n".join([
        "BENCH load.single.slack_rps=300.5 req/s", "BENCH load.single.slack_p50=100.0 ms",
        "BENCH load.single.slack_p99=400.0 ms", "BENCH load.single.telegram_rps=150.0 req/s",
        "BENCH load.single.telegram_p50=50.0 ms", "BENCH load.single.telegram_p99=200.0 ms",
        "BENCH load.single.errors=0 count"]))
    scaling = run_all.Run("load postgresql x2", returncode=0, output="\n".join([
        "BENCH load.pg.x1_rps=40.0 req/s", "BENCH load.pg.x2_rps=60.0 req/s", "BENCH load.pg.ratio=1.50 x",
        "BENCH load.pg.machine_busy=100 %", "BENCH load.pg.loadavg=12.0", "BENCH load.pg.errors=0 count"]))
    broken = run_all.Run("relay burst", returncode=1, problem="exit 1: boom")
    benches = {b.name: b for b in run_all.benches(quick=True, full=False)}
    table = run_all.summary([(benches["load"], load), (benches["load postgresql x2"], scaling),
                             (benches["relay burst"], broken)])
    lines = table.splitlines()
    assert "before (2026-11-23 run)" in lines[0]
    [slash] = [line for line in lines if line.startswith("load: slash commands ")]
    assert "300.5 req/s" in slash and "126.0 req/s, p50 370.8 ms, p99 716.8 ms" in slash
    assert any("two instances" in line and "×1.50 of one" in line for line in lines)
    assert any(line.startswith("relay burst") and "n/a: exit 1: boom" in line for line in lines)
    [campaign] = [line for line in lines if line.startswith("campaign send rate")]
    assert "not measured in this run" in campaign and "29.02 msg/s" in campaign


def test_the_telegram_ingest_rows_read_both_rates_and_the_same_runs_before():
    run = run_all.Run("telegram ingest", returncode=0, output="\n".join([
        "BENCH telegram_ingest.raw_rate=5436 rows/s", "BENCH telegram_ingest.ack_rate=875 msg/s",
        "BENCH telegram_ingest.stored_rate=857 msg/s", "BENCH telegram_ingest.ack_ratio=0.161 x",
        "BENCH telegram_ingest.stored_ratio=0.158 x", "BENCH telegram_ingest.before_ref=d312f1b ref",
        "BENCH telegram_ingest.before_stored_rate=116 msg/s", "BENCH telegram_ingest.before_stored_ratio=0.018 x"]))
    assert run_all.ingest_rows(run) == [
        ("Telegram ingestion (webhook → stored)", "857 msg/s", "raw sqlite3 5,436 rows/s (×0.158)"),
        ("  … acknowledged (stored as received)", "875 msg/s", "×0.161 of raw"),
        ("  … same run, before (d312f1b)", "116 msg/s", "×0.018 of raw")]
