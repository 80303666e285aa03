"""Money amounts and quantities in free text, English and Chinese.

"$12k", "12,000 USD", "¥5万", "5万元", "两万块", "€3.5m" are money; "20 more seats", "50 licenses",
"20个席位", "30台" are quantities. A number is never taken from a date or a time ("4pm", "3/11",
"12月5日", "10点"): money needs a currency or a k/m/万 multiplier, a quantity needs a unit word.

The regexes are the definition. For speed (issue 17: every customer message is read) they are tried only
where they can match: not at all in a text without a number, or without the currency or unit word a pattern
needs (one pyahocorasick pass finds which are there), and only at the places where a number starts. This
hand-written narrowing pays: ``bench/bench_nlu.py`` prints the message reader (amounts are part of it) against
the one before, in the same run; tests/test_reading_unchanged.py checks it finds what trying every place finds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from crm.understanding.lexicon import CASE_TWINS

CURRENCY_SIGNS = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "rmb": "CNY"}
CURRENCY_WORDS = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "美元": "USD", "美金": "USD", "刀": "USD",
    "eur": "EUR", "euro": "EUR", "euros": "EUR", "欧元": "EUR", "gbp": "GBP", "pounds": "GBP", "英镑": "GBP",
    "cny": "CNY", "rmb": "CNY", "yuan": "CNY", "元": "CNY", "块": "CNY", "块钱": "CNY", "人民币": "CNY",
}
MULTIPLIERS = {"k": 1e3, "K": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "M": 1e6, "mn": 1e6, "mio": 1e6,
               "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9, "千": 1e3, "万": 1e4, "w": 1e4, "W": 1e4,
               "百万": 1e6, "亿": 1e8}
UNITS_EN = ["seats", "seat", "licenses", "license", "licences", "licence", "users", "user", "units", "unit",
            "boxes", "box", "pcs", "pieces", "piece", "devices", "device", "accounts", "account", "laptops",
            "laptop", "printers", "printer", "scanners", "terminals", "servers", "server", "tablets", "phones",
            "subscriptions", "subscription", "copies", "sets", "cases", "pallets", "tons", "kg", "hours", "hrs",
            "days of training", "agents", "stores", "locations", "sites", "modules", "nodes", "cameras", "routers", "kiosks", "kiosk", "desks",
            "handsets", "vehicles", "rooms", "pens", "bags", "rolls", "pairs", "tablets",
            "headsets", "monitors", "chairs", "desks", "bottles", "cartons", "packs", "orders", "trucks"]
UNITS_ZH = ["席位", "个席位", "个账号", "账号", "个许可", "许可", "个用户", "用户", "台", "套", "件", "箱", "吨", "支", "条", "包", "桶", "双", "只", "间", "辆", "块屏", "公斤", "盒", "瓶", "辆", "间", "家门店", "家店", "个门店", "门店", "个站点", "节点", "小时"]
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10, "百": 100, "千": 1000}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_NUM = r"[零〇一二两三四五六七八九十百千]+"
_MULT = r"thousand|grand|million|billion|mio|mn|bn|百万|亿|万|千|[kKmMbwW]"
_SIGN = r"us\$|[$€£¥￥]|rmb"
_CUR_WORD = "|".join(sorted((re.escape(w) for w in CURRENCY_WORDS), key=len, reverse=True))

_A_NUMBER = re.compile(r"\d|[零〇一二两三四五六七八九十百千]")  # what every amount below holds (_NUM or _CN_NUM)
_MONEY_SIGN = re.compile(rf"(?P<sign>{_SIGN})\s?(?P<num>{_NUM})\s?(?P<mult>{_MULT})?(?![a-zA-Z])", re.I)
_MONEY_WORD = re.compile(rf"(?P<num>{_NUM}|{_CN_NUM})\s?(?P<mult>{_MULT})?\s?(?P<cur>{_CUR_WORD})(?![a-zA-Z])",
                         re.I)
_MONEY_MULT = re.compile(rf"(?<![A-Za-z0-9_.,/:-])(?P<num>{_NUM}|{_CN_NUM})\s?(?P<mult>k|K|m|M|mn|万|w|W|百万|亿)"
                         rf"(?![a-zA-Z\d])")
_UNIT_EN = "|".join(sorted((re.escape(u) for u in UNITS_EN), key=len, reverse=True))
_UNIT_ZH = "|".join(sorted((re.escape(u) for u in UNITS_ZH), key=len, reverse=True))
_QTY_EN = re.compile(rf"(?<![A-Za-z0-9_.,/:$€£¥-])(?P<num>\d+(?:,\d{{3}})*)\s?(?:x\s)?(?:more |extra |additional |new |"
                     rf"more new |further |other )?(?:[a-z]+[- ])?(?P<unit>{_UNIT_EN})(?![a-zA-Z])", re.I)
_QTY_ZH = re.compile(rf"(?P<num>\d+|{_CN_NUM})\s?(?P<unit>{_UNIT_ZH})")
# words that say a number is not a quantity of goods ("3个月", "2个小时", "5个人来开会" stays a count of people)
_NOT_GOODS_AFTER = re.compile(r"^(月|星期|礼拜|小时|钟头|工作日|天|周|人|问题|点)")


@dataclass
class Amount:
    value: float
    currency: str | None  # None: a quantity, or money in the business's default currency
    unit: str | None  # "seats" …; None for money
    start: int
    end: int
    text: str

    @property
    def is_money(self) -> bool:
        return self.unit is None


def cn_number(text: str) -> float | None:
    """两万 → 20000, 三十五 → 35, 一百二十 → 120 (small numbers, as people write them)."""
    if not text:
        return None
    if re.fullmatch(_NUM, text):
        return float(text.replace(",", ""))
    total, current = 0, 0
    for ch in text:
        if ch not in _CN_DIGITS:
            return None
        value = _CN_DIGITS[ch]
        if value >= 10:
            total += (current or 1) * value
            current = 0
        else:
            current = current * 10 + value if current and not total else value
    return float(total + current)


def _number(num: str, mult: str | None) -> float | None:
    value = cn_number(num.replace(",", "")) if not re.fullmatch(_NUM, num) else float(num.replace(",", ""))
    if value is None:
        return None
    if mult:
        factor = MULTIPLIERS.get(mult) or MULTIPLIERS.get(mult.lower())
        if factor is None:
            return None
        value *= factor
    return value


def find_amounts(text: str) -> list[Amount]:
    """Money first, then quantities, each in order of appearance; overlapping matches dropped."""
    numbers = [m.start() for m in _A_NUMBER.finditer(text)]
    if not numbers:
        return []  # most messages hold no number: one search instead of five (issue 17)
    found: list[Amount] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    held = _words_held(text)
    for rx in (_MONEY_SIGN, _MONEY_WORD, _MONEY_MULT) if held & _CURRENCY else (_MONEY_SIGN, _MONEY_MULT):
        for m in rx.finditer(text) if rx is _MONEY_SIGN else _starting_at(rx, text, numbers):
            if not free(m.start(), m.end()):
                continue
            groups = m.groupdict()
            value = _number(groups["num"], groups.get("mult"))
            if value is None or value <= 0:
                continue
            currency = None
            if groups.get("sign"):
                currency = CURRENCY_SIGNS.get(groups["sign"].lower())
            elif groups.get("cur"):
                currency = CURRENCY_WORDS.get(groups["cur"].lower())
            elif groups.get("mult") in ("万", "亿", "百万", "w", "W"):
                currency = None  # "5万" in a Chinese note: money in the default currency
            if rx is _MONEY_MULT and groups.get("mult") in ("m", "M"):
                # "5m" is as often minutes as millions: only with a currency sign or word
                continue
            taken.append((m.start(), m.end()))
            found.append(Amount(value, currency, None, m.start(), m.end(), m.group(0)))
    for rx in [rx for rx, bit in ((_QTY_EN, _UNIT_EN), (_QTY_ZH, _UNIT_ZH)) if held & bit]:
        for m in _starting_at(rx, text, numbers):
            if not free(m.start(), m.end()):
                continue
            unit = m.group("unit")
            if rx is _QTY_ZH and unit in ("个", "份", "间", "张") and _NOT_GOODS_AFTER.match(text[m.end():]):
                continue
            if rx is _QTY_ZH and _NOT_GOODS_AFTER.match(text[m.end() - len(unit):]):
                continue
            value = cn_number(m.group("num"))
            if value is None or value <= 0:
                continue
            taken.append((m.start(), m.end()))
            found.append(Amount(value, None, _unit_name(unit), m.start(), m.end(), m.group(0)))
    money = sorted((a for a in found if a.is_money), key=lambda a: a.start)
    qty = sorted((a for a in found if not a.is_money), key=lambda a: a.start)
    return money + qty


# the words a match of _MONEY_WORD, _QTY_EN or _QTY_ZH must hold (a currency word, an English unit, a Chinese
# unit), found together in one Aho-Corasick pass (pyahocorasick, C): a pattern is not tried on a text holding none
_CURRENCY, _UNIT_EN, _UNIT_ZH = 1, 2, 4
_NEEDED_WORDS = ahocorasick.Automaton()
for _word in {w.lower() for words in (CURRENCY_WORDS, UNITS_EN, UNITS_ZH) for w in words}:
    _NEEDED_WORDS.add_word(_word, sum(bit for bit, words in ((_CURRENCY, CURRENCY_WORDS), (_UNIT_EN, UNITS_EN),
                                                            (_UNIT_ZH, UNITS_ZH)) if _word in map(str.lower, words)))
_NEEDED_WORDS.make_automaton()


def _words_held(text: str) -> int:
    """Which of the needed words (_CURRENCY, _UNIT_EN, _UNIT_ZH bits) ``text`` may hold. The words are lower-case
    ASCII or uncased (Chinese): text.lower() holds them wherever the patterns (re.I for the English ones) would
    find them, but for the casing twins re.I pairs with ASCII letters (İ ı ſ K): such a text may hold any."""
    if CASE_TWINS.search(text):
        return _CURRENCY | _UNIT_EN | _UNIT_ZH
    held = 0
    for _end, bits in _NEEDED_WORDS.iter(text.lower()):
        held |= bits
    return held


def _starting_at(rx: re.Pattern, text: str, places: list[int]):
    """``rx.finditer(text)`` for a pattern whose every match starts at one of ``places`` (ascending): the match
    at each place that is not inside the previous match, without trying every other place of the text. All
    but _MONEY_SIGN start with their number (_NUM or _CN_NUM: _A_NUMBER); their lookbehinds still see the text
    before the place. Trying them only at the numbers' places is ~3x faster (issue 17)."""
    free = 0
    for place in places:
        if place >= free:
            m = rx.match(text, place)
            if m is not None:
                free = m.end()
                yield m


def _unit_name(unit: str) -> str:
    u = unit.lower().lstrip("个")
    return {"seat": "seats", "席位": "seats", "license": "licenses", "licence": "licenses", "licences": "licenses",
            "许可": "licenses", "账号": "accounts", "account": "accounts", "user": "users", "用户": "users",
            "unit": "units", "piece": "pieces", "device": "devices"}.get(u, u or unit)


def main_amount(text: str) -> Amount | None:
    """The amount worth a deal note: the first money amount, else the first quantity."""
    amounts = find_amounts(text)
    return amounts[0] if amounts else None
