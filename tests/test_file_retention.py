"""Exports are not left lying around: delivered exports are removed, the rest (and charts) expire."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from crm.file_retention import delivered, sweep


def test_privacy_export_is_uploaded_then_removed_from_disk(slack_bot, team):
    slack_bot.ask("export globex", user="UADA")
    slack_bot.fake.wait_for("files.completeUploadExternal")
    uploaded = list(slack_bot.fake.uploads.values())
    assert uploaded and json.loads(uploaded[-1])["customer"]["email"] == "ops@globex.example"
    folder = Path(os.environ["CRM_EXPORT_DIR"])
    deadline = time.monotonic() + 10
    while any(folder.glob("customer-*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(folder.glob("customer-*.json"))


def test_undelivered_exports_and_charts_expire(tmp_path, monkeypatch):
    exports, charts = tmp_path / "exports", tmp_path / "charts"
    exports.mkdir()
    charts.mkdir()
    monkeypatch.setenv("CRM_EXPORT_DIR", str(exports))
    monkeypatch.setenv("CRM_CHART_DIR", str(charts))
    monkeypatch.setenv("CRM_EXPORT_RETENTION_DAYS", "2")
    monkeypatch.setenv("CRM_CHART_RETENTION_DAYS", "0.5")
    now = time.time()
    ages = {exports / "customer-1-old.json": 3, exports / "customer-2-new.json": 1,
            charts / "graph-1-old.png": 1, charts / "digest-new.png": 0.1}
    for path, days in ages.items():
        path.write_bytes(b"x")
        os.utime(path, (now - days * 86400, now - days * 86400))
    removed = sorted(p.name for p in sweep(now))
    assert removed == ["customer-1-old.json", "graph-1-old.png"]
    assert sorted(p.name for p in exports.iterdir()) == ["customer-2-new.json"]
    # delivered() only ever removes files inside the export folder
    outside = tmp_path / "keep.json"
    outside.write_text("{}")
    assert delivered(outside) is False and outside.exists()
    assert delivered(exports / "customer-2-new.json") is True and not any(exports.iterdir())
