"""Reading a customer's message gives what it gave before issue 17's speed-ups, message for message.

The reference is frozen: ``tests/corpus/customer_readings_frozen.jsonl`` holds, for every message of the
training file, the test corpus and the awkward texts below (in ``texts()``'s order), what ``read_message`` answered on
2026-11-30 (commit 1bdeb89, before the batch reader): intent, sentiment, urgency, products, amounts and
the keyword-count features. Probabilities are compared with scikit-learn's own ``predict_proba`` of the
shipped pipeline, whose keyword features are checked against the frozen ones.

To regenerate the file (only when the corpus or the lexicon changes on purpose, with the old code):
    .venv/bin/python -m tests.test_reading_unchanged
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.understanding import intent, lexicon
from crm.understanding.intent import TRAINING_FILE, KeywordCounts, load_training, model, normalize, read_message
from tests.corpus.evaluate import HERE, load

FROZEN = HERE / "customer_readings_frozen.jsonl"
FIELDS = ("intent", "sentiment", "urgency", "products", "amounts", "keyword_counts", "length")  # a row per text

# what the corpus has little of: casing twins re.I pairs with ASCII (İ ı ſ K), other scripts' case rules,
# whitespace of every kind, emoji, mixed languages, amounts in both, shouting, very long and empty texts, lone
# surrogates (half an emoji: Python text may hold them, UTF-8 cannot)
AWKWARD = [
    "", " ", "\n\t ", "\u3000", "\u00a0\u2003", "\x1c\x1d", "a\u2028b\x85c\u200bd", "\u00a0urgent\u00a0\u00a0refund\u3000 ", "?", "!!!", "？！", "👍", "🙏🙏", "❤️ love it", "😡😡 the app is down!!! 🚨",
    "ıNVOICE refund ſtop KEEP cancel", "İnvoice urgent ASAP", "ſeats for the ENTERPRISE plan, KEEP it",
    "Kelvin \u212a urgent \u212aeep", "İSTANBUL office: thanks!", "help_me refund", "re-fund x_refund refund_",
    "mobile\n  app crashed!!", "退款 发票 急", "STRAẞE ß ﬁx the ﬂow", "ΟΔΟΣ σς ς", "Ꭰ ꭰ ᏸ Cherokee", "café naïve Å",
    "ＡＰＩ ｄｏｗｎ！！ ＵＲＧＥＮＴ", "THIS IS NOT WORKING FIX IT NOW API SLA USD VIP OK", "not good, not happy at all",
    "don't renew our subscription, we're moving to a competitor", "不满意，不好用，要退款！！", "没有问题，谢谢",
    "We'd like 20 more seats on the enterprise plan, budget $12k", "我们要 20个席位 on the pro plan，预算¥5万",
    "两万块 and 3个月 and 5个人来开会 and 30台打印机", "€3.5m deal, 12,000 USD, 5m wait, £20 bucks", "rmb 300 or us$ 40",
    "when does my order ship? 订单什么时候发货？", "message 7: when does my order ship? 订单什么时候发货？",
    "Hi! Does your plan include phone support or only email?", "CANCEL CANCEL cancel cancelled cancellation",
    "urgent!!! urgent!!! ‼ 🚨 now! asap a.s.a.p", "x" * 3000, "订单 " * 400,
    "The app has been down all morning and we can't work, fix it ASAP!!", "我们要取消订阅，下个月换别家了",
    "Thanks so much, works perfectly now 🙏", "where is my refund?? 退款呢", "a\x00b urgent",
    "\ud83d", "the app is down \ud83d fix it \udc00 urgent 退款",
]


def texts() -> list[str]:
    """Every text the reference covers, in a fixed order, without repeats."""
    found = load_training()[0] + [r["text"] for name in ("customer_messages_en.jsonl", "customer_messages_zh.jsonl",
                                                           "customer_messages_check.jsonl") for r in load(name)]
    long = " ".join(found[::97])  # a long mixed message
    return list(dict.fromkeys(found + AWKWARD + [long]))


def digest(items: list[str]) -> str:
    return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


def frozen_row(text: str) -> dict:
    """What today's reader says of ``text``; the keyword features as the counts they are log1p of."""
    reading = read_message(text)
    row = KeywordCounts.row(normalize(text))
    counts = [round(math.expm1(x)) for x in row[:-1]]
    assert [math.log1p(n) for n in counts] == row[:-1]
    return {"intent": reading.intent, "sentiment": reading.sentiment, "urgency": reading.urgency,
            "products": reading.products, "amounts": reading.amounts, "keyword_counts": counts,
            "length": row[-1]}


@pytest.fixture(scope="module")
def frozen() -> list[dict]:
    with open(FROZEN, encoding="utf-8") as fh:
        head, fields, *rows = [json.loads(line) for line in fh if line.strip()]
    assert fields == list(FIELDS)
    rows = [dict(zip(FIELDS, row, strict=True)) for row in rows]
    covered = texts()
    assert head == {"texts": len(covered), "sha256": digest(covered)}  # the frozen file covers exactly these texts
    assert len(rows) == len(covered) > 2000
    assert sum(bool(r["products"]) for r in rows) > 200 and sum(bool(r["amounts"]) for r in rows) > 50
    assert {r["intent"] for r in rows} == set(intent.INTENTS) and {r["urgency"] for r in rows} == {"high", "normal"}
    return [{"text": text, **row} for text, row in zip(covered, rows)]


def _same(got, want: dict) -> None:
    assert (got.intent, got.sentiment, got.urgency, got.products, got.amounts) == (
        want["intent"], want["sentiment"], want["urgency"], want["products"], want["amounts"]), want["text"]


def test_each_message_reads_as_it_did(frozen):
    for want in frozen:
        _same(read_message(want["text"]), want)


def test_a_batch_reads_as_each_message_alone(frozen):
    """read_messages (the processor's way, several at once) against the frozen one-by-one readings, in batches
    of several sizes, so that every message sits at every place of a batch and beside every kind of text."""
    for size in (1, 2, 4, 7, 16, 64):
        for start in range(0, len(frozen), size):
            chunk = frozen[start:start + size]
            for got, want in zip(intent.read_messages([w["text"] for w in chunk]), chunk, strict=True):
                _same(got, want)
                if size == 7:  # to the last bit: a message reads the same whatever the batch around it
                    assert got == read_message(want["text"]), want["text"]
    assert intent.read_messages([]) == []


def test_keyword_features_are_the_frozen_ones(frozen):
    for want in frozen:
        row = KeywordCounts.row(normalize(want["text"]))
        assert row == [math.log1p(n) for n in want["keyword_counts"]] + [want["length"]], want["text"]


def test_probabilities_are_the_pipelines_own(frozen):
    """Whatever the reader's arithmetic, its probabilities are scikit-learn's predict_proba of the shipped
    pipeline to 1e-9, one by one and in batches; the intent is the most probable class."""
    all_texts = [w["text"] for w in frozen]
    shipped = model()
    expected = shipped.pipeline.predict_proba([normalize(t) for t in all_texts])
    classes = [str(c) for c in shipped.classes]
    for size in (1, 4, 64):
        got = []
        for start in range(0, len(all_texts), size):
            got += intent.read_messages(all_texts[start:start + size])
        scores = np.array([[r.scores[c] for c in classes] for r in got])
        assert np.abs(scores - expected).max() < 1e-9
        assert [r.intent for r in got] == [classes[i] for i in expected.argmax(axis=1)]
        assert all(r.confidence == r.scores[r.intent] for r in got)
    one = read_message(all_texts[5])
    assert np.abs(np.array([one.scores[c] for c in classes]) - expected[5]).max() < 1e-9


def test_reading_does_not_depend_on_the_training_file_being_read_here():
    """The training file is the corpus (a guard that texts() covers the whole training file)."""
    assert set(load_training(TRAINING_FILE)[0]) <= set(texts())


if __name__ == "__main__":
    covered = texts()
    with open(FROZEN, "w", encoding="utf-8") as out:
        out.write(json.dumps({"texts": len(covered), "sha256": digest(covered)}) + "\n")
        out.write(json.dumps(FIELDS) + "\n")
        for text in covered:
            row = frozen_row(text)
            out.write(json.dumps([row[f] for f in FIELDS], ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {FROZEN}", file=sys.stderr)


def test_amounts_tried_only_at_numbers_are_what_searching_everywhere_finds(monkeypatch):
    """amounts.find_amounts tries its number-first patterns only where a number starts, none in a text without one,
    and those needing a currency or unit word only in a text holding one (issue 17): against every pattern tried at
    every place, on customer messages, staff notes (many amounts) and
    numbers in awkward places."""
    from crm.understanding import amounts

    notes = [r["text"] for name in ("staff_notes_en.jsonl", "staff_notes_zh.jsonl", "staff_notes_check.jsonl")
             for r in load(name)]
    samples = texts() + notes + ["x123 dollars", "1234,567 dollars", "a1,000,000.5 usd", "v2 5k", "ab12k 3万块 两万元",
                                 "12/3 4pm 5m 6M$ us$7 RMB8 ￥9万", "二十个席位 3个月 5个人 一百二十台", "٣ seats ３台",
                                 "20 ſeats", "5 UİSD", "3 KKG", "12 SEATS 4 Dollars", "7 Ｓｅａｔｓ"]
    fast = [amounts.find_amounts(t) for t in samples]
    # every place a number may start, every needed word held: the patterns tried everywhere on every text
    monkeypatch.setattr(amounts, "_A_NUMBER", re.compile(r"(?s:.)|$"))
    monkeypatch.setattr(amounts, "_words_held", lambda text: amounts._CURRENCY | amounts._UNIT_EN | amounts._UNIT_ZH)
    assert fast == [amounts.find_amounts(t) for t in samples]
    assert sum(bool(found) for found in fast) > 500


# ---------------------------------------------------------------- texts nobody wrote down: generated

_PIECES = sorted({w.rstrip("*") for words in (*lexicon.INTENT_WORDS.values(), lexicon.NEGATIVE_WORDS,
                                              lexicon.POSITIVE_WORDS, lexicon.URGENT_WORDS,
                                              *lexicon.PRODUCT_WORDS.values()) for w in words})
_ODD = list("İıſKkKsSiI_-'!！?？.,:/$€£¥￥0123456789一两十万千 \t\n\u3000\u00a0\u2028\x85\x00😡🙏👍🚨‼❤️ꭰßﬁ") + [
    "not ", "no ", "don't ", "不", "没", "x", "20 seats", "$12k", "5万", "两万块", "3个月", "  ", "ing", "ed", "s", "\ud83d", "\udc00"]
_TEXTS = st.lists(st.one_of(st.sampled_from(_PIECES), st.sampled_from(_ODD), st.text(max_size=3)), max_size=14).map(
    lambda parts: "".join(parts))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TEXTS, min_size=1, max_size=9))
def test_generated_texts_read_as_the_pipeline_and_the_word_lists_say(batch):
    """On texts made of the lexicon's words, casing twins, odd whitespace, emoji, amounts and noise: the
    scanner's places are each list's own regex matches (case-blind, as searched before issue 17), the
    probabilities are the pipeline's predict_proba, a batch reads as each text alone, and the amounts are
    those found by trying every place."""
    folded = [normalize(t) for t in batch]
    lists = intent._word_lists().lists
    for t in folded:
        for words, starts in zip(lists, intent._word_lists().starts(t), strict=True):
            assert list(starts) == [m.start() for m in lexicon._pattern(tuple(words)).finditer(t)], (t, words[:3])
    got = intent.read_messages(batch)
    expected = model().pipeline.predict_proba(folded)
    classes = [str(c) for c in model().classes]
    assert np.abs(np.array([[r.scores[c] for c in classes] for r in got]) - expected).max() < 1e-9
    assert got == [read_message(t) for t in batch]
    from crm.understanding import amounts

    with pytest.MonkeyPatch.context() as patch:  # amounts tried at every place, as before issue 17
        patch.setattr(amounts, "_A_NUMBER", re.compile(r"(?s:.)|$"))
        patch.setattr(amounts, "_words_held", lambda text: amounts._CURRENCY | amounts._UNIT_EN | amounts._UNIT_ZH)
        assert [r.amounts for r in got] == [[a.text for a in amounts.find_amounts(t)][:3] for t in batch]


def test_str_split_is_res_whitespace_for_every_character():
    """normalize (and the char n-grams) split on str.split's whitespace where the code before used re's \\s:
    the same set, checked on every code point."""
    space = re.compile(r"\s")
    differ = [i for i in range(0x110000) if (space.match(chr(i)) is not None) != (len(f"a{chr(i)}b".split()) == 2)]
    assert differ == []
    assert normalize(" a\u2028b\x85c\u3000\u00a0d\t\n") == "a b c d"
