"""The `/crm` grammar: quotes, options, #ids, verbatim remainders, hostile text."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from bot.errors import UserError
from bot.parser import MAX_COMMAND_LENGTH, parse


def test_name_tokens_and_verbatim_rest():
    p = parse('/crm log "Globex Corp"  call   yesterday 4pm  discussed  pricing')
    assert p.name == "log"
    assert p.args[:2] == ["Globex Corp", "call"]
    assert p.tokens[0].quoted and not p.tokens[1].quoted
    assert p.rest_after(2) == "yesterday 4pm  discussed  pricing"  # spacing kept as typed
    assert p.rest_after(99) == ""


def test_command_prefix_is_optional_and_name_lowercased():
    assert parse("SHOW globex").name == "show"
    assert parse("crm show globex").args == ["globex"]
    assert parse("").name == ""


@pytest.mark.parametrize("text,expected", [
    ('add “王伟” company="华为 技术"', ["王伟"]),
    ("add 「李娜」", ["李娜"]),
    ("add 'Ann Lee'", ["Ann Lee"]),
    ("show #12", ["#12"]),
])
def test_quote_styles(text, expected):
    p = parse(text)
    p.take_options({"company"})
    assert p.args == expected


def test_options_are_extracted_with_quoted_values():
    p = parse('add "Globex" email=ops@globex.example company="Globex Inc" tier=VIP')
    assert p.take_options({"email", "company", "tier"}) == {"email": "ops@globex.example", "company": "Globex Inc",
                                                            "tier": "VIP"}
    assert p.args == ["Globex"]


def test_unknown_option_names_the_known_ones():
    p = parse("add Foo colour=red")
    with pytest.raises(UserError) as err:
        p.take_options({"email", "tier"})
    assert "colour" in err.value.message and "email, tier" in err.value.message


def test_quoted_key_value_is_text_not_option():
    p = parse('log globex note "a=b is the formula"')
    assert p.take_options({"x"}) == {}
    assert p.args[-1] == "a=b is the formula"


def test_id_token():
    assert parse("show #12").tokens[0].is_id
    assert not parse("show #abc").tokens[0].is_id
    assert not parse('show "#12"').tokens[0].is_id


def test_unclosed_quote_is_a_clear_error():
    with pytest.raises(UserError, match="never closed"):
        parse('show "Globex')


def test_full_width_and_control_characters_are_folded():
    p = parse("ｓｈｏｗ　globex\x00\x07")
    assert p.name == "show" and p.args == ["globex"]


def test_overlong_line_is_refused():
    with pytest.raises(UserError, match="limit"):
        parse("log x note " + "a" * (MAX_COMMAND_LENGTH + 1))


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_parses_or_gives_a_user_error(text):
    try:
        p = parse(text)
    except UserError as err:
        assert err.message
        return
    assert isinstance(p.name, str)
    for tok in p.tokens:
        assert 0 <= tok.start < tok.end <= len(p.text)
    for n in range(len(p.tokens) + 2):
        assert isinstance(p.rest_after(n), str)
