"""One Locale: every reply text is an English msgid in the code with its Chinese in one gettext
catalogue (crm/locale/zh/LC_MESSAGES/crm.po), plurals by ngettext (issue 12)."""
from __future__ import annotations

import ast
import re
import string
import sys
from pathlib import Path

import pytest

from crm.i18n import (SOURCE_PACKAGES, catalogue, count, days_ago, days_overdue, gettext, ngettext, pgettext,
                      source_messages, with_article)
from tests.helpers import say

ROOT = Path(__file__).resolve().parents[1]


def _fields(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(scope="module")
def messages():
    return source_messages(ROOT)


def test_the_extractor_finds_the_code_texts(messages):
    # a sample from each kind of call: ctx.t, voice.t, ctx.plural, count(...)
    ids = {m for _, m in messages}
    assert "Customer" in ids and "⏰ Follow-up due: {title} (#{id})" in ids
    assert ("{n} open follow-up", "{n} open follow-ups") in ids
    assert ("{n} day ago", "{n} days ago") in ids
    assert len(messages) > 300, len(messages)


def test_every_text_in_the_code_has_a_chinese_translation(messages):
    zh = catalogue("zh")
    missing = [f"{where}: {msgid!r}" for (context, msgid), where in messages.items()
               if (context, msgid if isinstance(msgid, str) else msgid[0]) not in zh]
    assert not missing, "texts without a Chinese translation in crm/locale/zh/LC_MESSAGES/crm.po " \
                        "(run tools/i18n_codemod.py on inline pairs, or add the msgstr):\n" + "\n".join(missing)


def test_translations_keep_the_fields_of_their_english(messages):
    zh = catalogue("zh")
    wrong = []
    for (context, msgid), where in messages.items():
        english = msgid if isinstance(msgid, str) else msgid[0]
        chinese = zh.get((context, english))
        if chinese is None:
            continue
        for text in (chinese if isinstance(chinese, tuple) else (chinese,)):
            needed = _fields(english) | (_fields(msgid[1]) if isinstance(msgid, tuple) else set())
            if not _fields(text) <= needed | {"n"}:
                wrong.append(f"{where}: {english!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)


def test_no_inline_pairs_are_left():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import i18n_codemod
    finally:
        sys.path.remove(str(ROOT / "tools"))
    left = []
    for top in SOURCE_PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            result = i18n_codemod.scan(path)
            left += [f"{f.where}: {f.key[1]!r}" for f in result.found] + result.problems
    assert not left, "run tools/i18n_codemod.py:\n" + "\n".join(left)


def test_english_plurals_follow_cldr():
    assert count("en", 1, "{n} day ago", "{n} days ago") == "1 day ago"
    assert count("en", 2, "{n} day ago", "{n} days ago") == "2 days ago"
    assert count("en", 1000, "{n} day ago", "{n} days ago") == "1,000 days ago"
    assert ngettext("en", 1, "{n} company", "{n} companies") == "1 company"
    assert ngettext("en", 2, "{n} company", "{n} companies") == "2 companies"
    assert ngettext("en", 0, "{n} company", "{n} companies") == "0 companies"
    assert days_ago("en", 1) == "yesterday" and days_ago("en", 2) == "2 days ago"
    assert days_overdue("en", 1) == "1 day overdue" and days_overdue("en", 5) == "5 days overdue"
    assert with_article("email") == "an email" and with_article("call") == "a call"


def test_chinese_plurals_have_one_form():
    assert count("zh", 1, "{n} day ago", "{n} days ago") == "1 天前"
    assert count("zh", 2, "{n} day ago", "{n} days ago") == "2 天前"
    assert ngettext("zh", 1, "{n} company", "{n} companies") == "1 家公司"
    assert ngettext("zh", 2, "{n} company", "{n} companies") == "2 家公司"
    assert days_ago("zh", 1) == "昨天" and days_ago("zh", 3) == "3 天前"
    assert days_overdue("zh", 2) == "逾期 2 天"


def test_lookup_fills_fields_and_falls_back_to_english():
    assert gettext("zh", "Customer") == "客户"
    assert gettext("en", "Customer") == "Customer"
    assert gettext("zh", "A text nobody translated {x}", x=1) == "A text nobody translated 1"
    assert pgettext("zh", "deal button", "Won") == "赢单"
    assert pgettext("zh", "deal outcome", "Won") == "已赢单"


def test_replies_say_one_and_many_right_in_both_languages(engine, team):
    assert say(engine, "UALICE", "/crm log globex email sent the deck").text.startswith("Logged an email")
    say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    assert say(engine, "UALICE", "/crm tasks").text.startswith("1 open follow-up,")
    say(engine, "UALICE", "/crm remind globex friday 3pm call back")
    assert say(engine, "UALICE", "/crm tasks").text.startswith("2 open follow-ups,")
    say(engine, "UBOB", "/crm remind initech tomorrow 3pm send the proposal")
    assert say(engine, "UBOB", "/crm tasks").text.startswith("1 个待办跟进")


def test_store_errors_are_catalogue_texts_with_values():
    from crm.errors import NotFound, UserError

    err = NotFound("There is no customer {ref}.", ref="#{0}")  # the user's braces are a value, never a format
    assert err.message == "There is no customer #{0}." and err.text("en") == err.message
    assert err.text("zh") == "没有客户 #{0}。"
    already = UserError("已经翻译好的 {文本}")  # a handler's own (translated) text is shown as it is
    assert already.text("zh") == already.text("en") == "已经翻译好的 {文本}"


def test_store_errors_reach_a_chinese_user_in_chinese(engine, team):
    english = say(engine, "UALICE", "/crm show zzqx")
    chinese = say(engine, "UBOB", "/crm show zzqx")
    assert english.error and english.text.startswith("No customer matches “zzqx”."), english.text
    assert chinese.error and chinese.text.startswith("没有客户匹配“zzqx”。"), chinese.text
    refused = say(engine, "UBOB", '/crm staff add "Zhang Min" role=rep')  # raised by bot/roles.py
    assert refused.error and refused.text.startswith("抱歉，这需要"), refused.text
    assert say(engine, "UBOB", "/crm 7").text.startswith("这里没有按钮 7。")  # the engine's own answers too
    assert say(engine, "UALICE", "/crm 7").text.startswith("There is no button 7 here.")
    unreadable = say(engine, "UBOB", '/crm add "Acme')  # raised by the store's tokenizer (crm/words.py)
    assert unreadable.error and "引号没有闭合" in unreadable.text, unreadable.text


def test_no_error_reply_is_written_as_an_f_string():
    """An f-string message cannot be a msgid: it would reach Chinese users in English (store errors,
    ``ctx.fail(...)`` and ``Reply.fail(...)`` alike)."""
    import ast

    names = {"UserError", "NotFound", "PermissionDenied", "Ambiguous", "CampaignError", "fail"}
    found = []
    for top in ("bot", "crm", "handlers", "scheduler"):  # (an adapter's last-resort apology may stay English)
        for path in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.JoinedStr):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                    if name in names:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "write the message as a msgid with {fields} and pass the values as keywords:\n" + \
        "\n".join(found)


# Modules whose Chinese is input the product READS (date words, note understanding, amounts, seeded demo
# data), not text it writes: they keep their own word lists.
READS_CHINESE = ("bot/dates/", "crm/understanding/", "crm/seed.py", "crm/seed_bulk.py")  # seeds: made-up data, not replies
# Han characters and the punctuation of Chinese sentences (not full-width letters, which input may hold)
_CJK = re.compile(r"[\u3400-\u9fff\u3001\u3002\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f]")
_TRANSLATED = {"t", "pt", "plural", "gettext", "pgettext", "ngettext", "count", "N_", "NP_", "UserError",
               "NotFound", "PermissionDenied", "Ambiguous"}


def _input_words(tree) -> set[int]:
    """ids of string nodes that are words to recognise in what people type, or msgids: dict keys
    (word -> meaning tables), membership tests and the words a loop looks for, regular expressions, command examples and
    the English msgids of translation calls (they may quote Chinese input, as "e.g. 明天下午3点")."""
    skip: set[int] = set()

    def mark(node):
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    mark(key)
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            mark(node)  # `word in ("订阅", …)`, `"星期" in unit`
        elif isinstance(node, ast.comprehension):
            mark(node.iter)  # `any(w in text for w in ("类型", …))`
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in {"compile", "match", "search", "fullmatch", "sub", "findall", "split", "finditer"}:
                mark(node)
            elif name in _TRANSLATED:
                for arg in node.args:
                    mark(arg)
            for kw in node.keywords:
                if kw.arg == "examples":
                    mark(kw.value)
        elif isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                mark(node.body[0])  # a docstring
    return skip


def _inline_chinese(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    skip = _input_words(tree)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                and _CJK.search(node.value):
            line = lines[node.lineno - 1]
            if "# input words" in line or "# input words" in lines[max(0, node.lineno - 2)]:
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
    return found


@pytest.mark.parametrize("package", SOURCE_PACKAGES)
def test_no_inline_chinese_reply_text(package):
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(READS_CHINESE):
            found += _inline_chinese(path)
    assert not found, ("Chinese reply text belongs in crm/locale/zh/LC_MESSAGES/crm.po (English msgid in the "
                       "code; tools/i18n_codemod.py moves pairs there). Words the product reads from input may "
                       "stay, marked `# input words`:\n" + "\n".join(found))


def test_a_chinese_manager_gets_the_digest_chart_in_chinese(chat, engine, team, clock, monkeypatch):
    """The chart's titles, stages and counts come from the catalogue; a missing CJK glyph would warn."""
    import warnings

    from handlers.digest import chart
    from tests.digest_support import EIGHT_LONDON, seed_known_day

    drawn = []
    save_png = chart.save_png
    monkeypatch.setattr(chart, "save_png", lambda fig, path: drawn.append(fig) or save_png(fig, path))
    seed_known_day(engine.db, team)
    clock.now = EIGHT_LONDON
    chat.push("/crm staff set @maria language=zh", as_="ada")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reply = chat.push("/crm digest", as_="maria")
    assert not reply.error and reply.image_path, reply.text
    assert open(reply.image_path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    activity, pipeline = drawn[-1].axes
    assert activity.get_title() == "每日互动（最近 14 天）" and pipeline.get_title().startswith("各阶段在谈商机")
    assert [t.get_text() for t in pipeline.get_yticklabels()] == ["线索", "合格", "报价", "谈判"]


def test_the_team_inbox_thread_card_speaks_the_business_language(db, team):
    from crm.models import Ticket
    from integrations.inbox_relay import thread_card

    with db.session() as s:
        ticket = Ticket(customer_id=team.wang, intent="purchase")
        s.add(ticket)
        s.flush()
        english, chinese = thread_card(s, ticket, None, "en"), thread_card(s, ticket, None, "zh")
    assert english.text == f"💬 Ticket #{ticket.id}: 王伟 wrote on Telegram"
    assert [b.label for b in english.buttons] == ["Assign to me", "Resolve", "Reopen"]
    assert chinese.text == f"💬 工单 #{ticket.id}：王伟 在 Telegram 上留言"
    assert [b.label for b in chinese.buttons] == ["分配给我", "解决", "重新打开"]
    assert dict(chinese.fields)["理解为"] == "购买意向" and dict(english.fields)["Understood"] == "purchase intent"
