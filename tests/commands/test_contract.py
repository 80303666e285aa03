"""The contract every registered `/crm` command keeps, checked over ``bot.registry.COMMANDS``:

* its help exists in English and in Chinese, and `/crm help` shows each to the right people;
* typed with no arguments, a command that needs some answers with its usage (and changes nothing);
  one whose arguments are all optional answers without an error;
* typed with wrong arguments, it says what was wrong and the store is left exactly as it was.

A new command joins these checks by registering (handlers/<command>.py) and by adding its wrong
arguments to ``BAD_ARGUMENTS`` below; the test that lists missing entries says so.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import handlers  # noqa: F401  (registers every command, as the engine does)
from bot.registry import COMMANDS
from bot.roles import has

CJK = re.compile(r"[\u3400-\u9fff]")
NAMES = sorted(COMMANDS)

# Lines that are wrong for each command, typed by an admin (so no refusal is about roles).
BAD_ARGUMENTS: dict[str, list[str]] = {
    "add": ["add Foo tier=platinum", "add Foo email=not-an-email", "add Foo colour=red", 'add "Foo Bar'],
    "assign": ["assign globex", "assign nosuchcustomerzz @UBOB", "assign globex @nobody"],
    "audit": ["audit nosuchcustomerzz", "audit #999999"],
    "campaign": ["campaign launch x", "campaign preview nosuchcampaign", 'campaign new "Q" segment="tier=gold-plated"'],
    "deal": ["deal globex lots", "deal globex 100 close=someday", "deal nosuchcustomerzz 100"],
    "digest": ["digest weekly", "digest subscribe now"],
    "done": ["done #999999", "done nothing-matches-this"],
    "export": ["export nosuchcustomerzz", "export #999999"],
    "find": ['find "unclosed'],
    "forget": ["forget nosuchcustomerzz", "forget #999999 confirm"],
    "graph": ["graph nosuchcustomerzz", "graph #999999"],
    "help": ["help frobnicate"],
    "insights": ['insights "unclosed'],
    "intro": ["intro nosuchcustomerzz", "intro #999999"],
    "invite": ["invite nosuchcustomerzz", "invite #999999"],
    "link": ["link globex initech enemies", "link globex globex knows", "link globex initech knows strength=7"],
    "log": ["log globex dance fun times", "log nosuchcustomerzz call hi", "log globex call tomorrow 3pm plan"],
    "next": ["next accept #999999", "next frobnicate"],
    "note": ["note confirm #999999", "note cancel #999999", "note set #999999 kind=call", "note edit #42"],
    "remind": ["remind globex send the proposal", "remind globex yesterday 3pm call", "remind nosuchcustomerzz tomorrow x"],
    "show": ["show nosuchcustomerzz", "show #999999"],
    "similar": ["similar nosuchcustomerzz", "similar #999999"],
    "snooze": ["snooze #999999 tomorrow", "snooze #1 banana"],
    "staff": ["staff add Nobody role=emperor", "staff set @nobody role=rep", "staff frobnicate"],
    "stats": ["stats forever", "stats team 0d"],
    "tasks": ["tasks @nobody"],
    "ticket": ["ticket assign #999999", "ticket frobnicate #1"],
}


def needs_arguments(spec) -> bool:
    rest = spec.usage[len(spec.name):].strip()
    return bool(rest) and not rest.startswith("[")


def test_every_command_has_its_test_file():
    here = Path(__file__).parent
    missing = sorted(name for name in COMMANDS if not (here / f"test_{name}.py").exists())
    assert not missing, f"put each command's tests in tests/commands/test_<command>.py; none for {missing}"


def test_every_command_has_wrong_arguments_listed_here():
    missing = sorted(set(COMMANDS) - set(BAD_ARGUMENTS))
    assert not missing, f"add wrong argument lines for {missing} to BAD_ARGUMENTS in {__file__}"


# ---- help in both languages ----------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_help_exists_in_english_and_chinese(name):
    spec = COMMANDS[name]
    assert spec.usage.startswith(name) and spec.summary.strip()
    assert not CJK.search(spec.summary), "the English summary is in Chinese"
    assert CJK.search(spec.summary_zh or ""), (
        f"/crm {name} has no Chinese help: add summary_zh=… where it registers (@command in handlers/)")


@pytest.mark.parametrize("name", NAMES)
def test_help_for_the_command_is_in_the_readers_language(chat, name):
    spec = COMMANDS[name]
    english = chat.push(f"help {name}", as_="alice")
    chinese = chat.push(f"help {name}", as_="bob")  # Bob's language is Chinese
    assert not english.error and not chinese.error
    assert spec.summary in english.text and spec.summary_zh not in english.text
    assert spec.summary_zh in chinese.text
    for reply in (english, chinese):
        assert reply.fields[0] == (("Usage" if reply is english else "用法"), f"/crm {spec.usage}")  # labels in the reader's language


def test_the_command_list_is_in_the_readers_language(chat):
    english = chat.push("help", as_="alice").plain_text()
    chinese = chat.push("help", as_="bob").plain_text()
    for spec in COMMANDS.values():
        assert f"/crm {spec.usage} — {spec.summary}" in english
        assert f"/crm {spec.usage} — {spec.summary_zh}" in chinese


# ---- empty arguments -----------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("who", ["ada", "bob"])  # an English-speaking admin; a Chinese-speaking rep
def test_empty_arguments_give_usage_or_a_plain_answer_and_change_nothing(chat, name, who):
    spec = COMMANDS[name]
    before = chat.fingerprint()
    reply = chat.push(name, as_=who)
    assert reply.text.strip() and "went wrong" not in reply.text
    if not has(chat.staff(who), spec.permission):
        assert reply.error and "role" in reply.text  # the role is checked first, and says so
        assert chat.fingerprint() == before
    elif needs_arguments(spec):
        assert reply.error, f"/crm {name} without arguments did something: {reply.text!r}"
        assert reply.usage == spec.usage, f"/crm {name} without arguments gave no usage: {reply.plain_text()!r}"
        assert chat.fingerprint() == before
    else:
        assert not reply.error, reply.plain_text()


# ---- wrong arguments -----------------------------------------------------------------------

CASES = [(name, line) for name in NAMES for line in BAD_ARGUMENTS.get(name, [])]


@pytest.mark.parametrize("name,line", CASES, ids=[line for _, line in CASES])
def test_wrong_arguments_are_explained_and_change_nothing(chat, name, line):
    before = chat.fingerprint()
    reply = chat.push(line, as_="ada")
    assert reply.error, f"/crm {line} was accepted: {reply.plain_text()!r}"
    assert reply.text.strip() and "went wrong" not in reply.text and "Traceback" not in reply.text
    assert chat.fingerprint() == before, f"/crm {line} changed the store although it failed"
