"""Where every shared fixture comes from. Test modules name fixtures as arguments; they never
import them for their side effect.

* tests/fixtures/store.py — ``db``/``db_url`` (SQLite; PostgreSQL too for ``@pytest.mark.store``),
  ``settings``, ``clock``, ``engine``, ``team``, ``pg_server``
* tests/fixtures/chat.py — ``chat``: the in-process test adapter (push a line as a colleague, get the Reply)
* tests/fixtures/cli.py — ``cli``: `crm-bot`'s ``main(argv)`` in-process on the test's store
* tests/fakes/slack_api.py, tests/fakes/telegram_api.py — ``slack_api``, ``telegram_api`` (remote API stand-ins)
* tests/slack_harness.py, tests/telegram_support.py — ``slack_bot``, ``telegram_bot``: the real HTTP
  app, for tests whose subject is HTTP, Bolt or python-telegram-bot

Markers (pyproject.toml): ``store``, ``postgres``, ``http``, ``slow``, ``crash``, ``solo``, ``sqlite_only``.
``pytest -m "not slow"`` is the quick local loop; ``make test`` runs everything: ``-n 2 -m "not solo"``
(pytest-xdist, with ``--sqlcipher-too``), then the ``solo`` tests alone.
"""

pytest_plugins = [
    "tests.fixtures.store",
    "tests.fixtures.chat",
    "tests.fixtures.insights",
    "tests.fixtures.cli",
    "tests.fakes.slack_api",
    "tests.fakes.telegram_api",
    "tests.slack_harness",
    "tests.telegram_support",
]

import os  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402

HTTP_FIXTURES = {"slack_bot", "telegram_bot", "slack_api", "telegram_api"}


def pytest_configure(config):
    """The customer-message model is trained once and kept on disk (crm/understanding/intent.py), so the
    workers and every `crm-bot run` a test starts (they inherit the environment) load it instead of
    training it again: ~2.5 CPU-seconds each. The file's name changes with the data and the code."""
    os.environ.setdefault("CRM_INTENT_MODEL_CACHE", os.path.join(tempfile.gettempdir(), "crm-test-intent-model"))


def pytest_collection_modifyitems(config, items):
    """``http`` on every test that runs a real HTTP server (the app or an API stand-in). On several
    workers (pytest -n) the ``slow`` tests go first, so that no worker is left with a long one at the end
    while the other idles."""
    for item in items:
        if HTTP_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.http)
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: every worker sorts alike
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise as collected
