"""`/crm done`: mark a follow-up done."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("line", ["/crm done", "/crm done #999", "/crm done nothing-matches"])
def test_done_bad_input_changes_nothing(chat, line):
    chat.push("/crm remind globex tomorrow 3pm send the proposal", as_="alice")
    chat.refuses(line)
