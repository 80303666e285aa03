"""The Slack and Telegram stand-ins served from a process of their own, for bench/load.py.

In the load generator's process they shared its GIL: with thousands of relayed messages and
answers arriving, the generator's own event loop waited for the stand-ins' threads, and the
latency it measured included that wait. The real Slack and Telegram are somewhere else, so
here they are too. The generator asks this process what it recorded, one JSON line each way.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RecordedCall:
    path: str
    params: dict


def serve() -> None:
    """The child: starts both stand-ins, prints their URLs, then answers questions until stdin ends."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.slack_api import FakeSlackApi
    from tests.fakes.telegram_api import FakeTelegramApi

    slack, telegram = FakeSlackApi().start(), FakeTelegramApi().start()
    say = lambda value: print(json.dumps(value), flush=True)  # noqa: E731
    say({"slack_base": slack.base, "slack_api_url": slack.api_url, "telegram_api_url": telegram.api_url})
    try:
        for line in sys.stdin:
            question, arg = json.loads(line)
            if question == "calls_to":
                say([[c.path, c.params] for c in slack.calls_to(arg)])
            elif question == "telegram_webhook":
                say(telegram.webhook)
    finally:
        slack.stop()
        telegram.stop()


class FakesProcess:
    """``slack`` and ``telegram`` answer the few questions bench/load.py asks of the stand-ins."""

    def __init__(self):
        self._process = subprocess.Popen([sys.executable, "-m", "bench.fakes_process"], cwd=ROOT, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        first = self._process.stdout.readline()
        if not first:
            raise RuntimeError(f"the Slack and Telegram stand-ins exited with {self._process.wait()}")
        urls = json.loads(first)
        self.slack = _SlackView(self, urls["slack_base"], urls["slack_api_url"])
        self.telegram = _TelegramView(self, urls["telegram_api_url"])

    def ask(self, question: str, arg=None):
        self._process.stdin.write(json.dumps([question, arg]) + "\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()  # the child stops its servers and exits
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


class _SlackView:
    def __init__(self, fakes: FakesProcess, base: str, api_url: str):
        self._fakes, self.base, self.api_url = fakes, base, api_url

    def response_url(self, rid: str) -> str:
        return f"{self.base}/response/{rid}"

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [RecordedCall(path, params) for path, params in self._fakes.ask("calls_to", method)]


class _TelegramView:
    def __init__(self, fakes: FakesProcess, api_url: str):
        self._fakes, self.api_url = fakes, api_url

    @property
    def webhook(self) -> dict:
        return self._fakes.ask("telegram_webhook")


if __name__ == "__main__":
    serve()
