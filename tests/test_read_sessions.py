"""Commands that only read run in read sessions: on SQLite they never wait for the one writer."""
from __future__ import annotations

import threading

import pytest

from bot.registry import COMMANDS
from tests.helpers import say

READ_ONLY_LINES = ["/crm help", "/crm find glob", "/crm tasks", "/crm stats", "/crm search 王"]


def test_the_read_only_commands_are_marked(engine):  # the engine loads every command
    assert {name for name, spec in COMMANDS.items() if spec.read_only} == {"help", "find", "tasks", "stats"}


@pytest.mark.parametrize("line", READ_ONLY_LINES)
def test_read_only_commands_answer_while_a_long_write_holds_the_writer(engine, db, team, line):
    if db.dialect != "sqlite":
        pytest.skip("the writer queue is SQLite's")
    holding, release = threading.Event(), threading.Event()

    def long_write():
        with db.write_session():
            holding.set()
            release.wait(20)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert holding.wait(5)
        answered = []
        # as Slack delivers a slash command: a delivery it may repeat, which writing commands claim
        reader = threading.Thread(target=lambda: answered.append(
            say(engine, "UALICE", line, message_id=f"trig.{line}", extra={"once": True})))
        reader.start()
        reader.join(10)
        assert answered, f"{line} waited for the writer"
        assert not answered[0].error, answered[0].text
    finally:
        release.set()
        writer.join()


def test_a_write_in_a_read_session_is_refused_not_kept(db, team):
    from crm.models import Customer

    with pytest.raises(RuntimeError, match="read session was written"):
        with db.read_session() as s:
            s.add(Customer(name="Sneaky Ltd"))
    with db.session() as s:
        assert s.query(Customer).filter(Customer.name == "Sneaky Ltd").count() == 0

