"""The Telegram webhook is answered at the edge (bot/edge.py RouteLimits.answer, issue 17): the edge's limits and
the metrics still apply to it, and Starlette's route is not on its way."""
from __future__ import annotations

from starlette.routing import request_response

from tests.telegram_support import WEBHOOK_SECRET, unprocessed

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}


def _counted(bot, status: str) -> float:
    registry = bot.app.metrics.registry
    return registry.get_sample_value("crm_http_requests_total", {"route": "/telegram/webhook", "platform": "telegram",
                                                                 "status": status}) or 0.0


def test_the_webhook_is_answered_without_starlettes_route(telegram_bot, monkeypatch):
    async def not_here(request):
        raise AssertionError("Starlette's route answered the webhook")

    route = telegram_bot.adapter.routes[0]
    monkeypatch.setattr(route, "app", request_response(not_here))  # what Starlette would run for the route
    before = _counted(telegram_bot, "200")
    response = telegram_bot.post(telegram_bot.updates.text(7301, "hello"))
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert response.headers["content-type"] == "application/json"
    assert _counted(telegram_bot, "200") == before + 1  # the metrics middleware still counts it
    assert telegram_bot.customer(7301) is not None


def test_the_edges_limits_hold_on_the_answered_route(telegram_bot):
    too_big = b'{"update_id": 1, "message": {"text": "' + b"x" * (600 * 1024) + b'"}}'
    response = telegram_bot.http.post(telegram_bot.url, content=too_big, headers=HEADERS)
    assert response.status_code == 413
    response = telegram_bot.http.get(telegram_bot.url, headers=HEADERS)
    assert response.status_code == 405  # other methods still reach Starlette, which refuses them
    response = telegram_bot.http.post(telegram_bot.url, content=b"\xff\xfe{", headers=HEADERS)
    assert response.status_code == 400
    assert _counted(telegram_bot, "413") == 1 and _counted(telegram_bot, "400") == 1
    assert unprocessed(telegram_bot.db) == 0 and telegram_bot.interactions() == []


def test_a_failed_commit_asks_telegram_to_redeliver(telegram_bot, monkeypatch):
    def broken(rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(telegram_bot.adapter.inbound, "_commit", broken)
    monkeypatch.setattr(telegram_bot.adapter.inbound._batcher, "commit", broken)
    response = telegram_bot.http.post(telegram_bot.url, json=telegram_bot.updates.text(7302, "hello"),
                                      headers=HEADERS)
    assert response.status_code == 500 and response.json()["ok"] is False  # Telegram redelivers it
    monkeypatch.undo()
    assert telegram_bot.customer(7302) is None
