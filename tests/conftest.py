"""Where every shared fixture comes from. Test modules name fixtures as arguments; they never
import them for their side effect.

* tests/fixtures/store.py — ``db``/``db_url`` (SQLite; PostgreSQL too for ``@pytest.mark.store``),
  ``settings``, ``clock``, ``engine``, ``team``, ``pg_server``
* tests/fixtures/chat.py — ``chat``: the in-process test adapter (push a line as a colleague, get the Reply)
* tests/fakes/slack_api.py, tests/fakes/telegram_api.py — ``slack_api``, ``telegram_api`` (remote API stand-ins)
* tests/slack_harness.py, tests/telegram_support.py — ``slack_bot``, ``telegram_bot``: the real HTTP
  app, for tests whose subject is HTTP, Bolt or python-telegram-bot

Markers (pyproject.toml): ``store``, ``postgres``, ``http``, ``slow``, ``crash``.
``pytest -m "not slow"`` is the quick local loop; ``make test`` runs everything.
"""

pytest_plugins = [
    "tests.fixtures.store",
    "tests.fixtures.chat",
    "tests.fixtures.insights",
    "tests.fakes.slack_api",
    "tests.fakes.telegram_api",
    "tests.slack_harness",
    "tests.telegram_support",
]

import pytest  # noqa: E402

HTTP_FIXTURES = {"slack_bot", "telegram_bot", "slack_api", "telegram_api"}


def pytest_collection_modifyitems(config, items):
    """``http`` on every test that runs a real HTTP server (the app or an API stand-in)."""
    for item in items:
        if HTTP_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.http)
