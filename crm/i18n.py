"""Words and numbers as staff and customers read them, in English or Chinese: every reply text,
plurals, money, "3 days ago".

Texts are GNU gettext messages: the code holds the English text (the msgid) and the Chinese lives in
one catalogue, ``crm/locale/zh/LC_MESSAGES/crm.po``, read with Babel the first time a text is looked
up (no compile step, so a fresh clone works). Plurals are ngettext entries: English "one"/"other" by
CLDR's rule, Chinese one form. The catalogue sits in crm/ so the store's own errors can use it without
crm importing bot/. ``tools/i18n_codemod.py`` turns inline English/Chinese pairs into catalogue entries;
``KEYWORDS`` below tells Babel's extractor (and the tests) which calls carry a msgid.

Plural categories and number/currency formats come from Babel (CLDR), not hand-made tables:
English has "one"/"other", Chinese only "other", and CLDR knows every currency's symbol.
"""
from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.numbers import format_currency, format_decimal, list_currencies

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "crm"
# The calls whose string arguments are msgids, as Babel's extractor spells it: name -> argument
# positions (1-based; (n, "c") is a msgctxt). ``ctx.t``/``voice.t`` and ``ctx.plural`` take no
# language (the reader's is known); the module-level functions take it first.
KEYWORDS = {
    "t": (1,), "pt": ((1, "c"), 2), "plural": (2, 3),
    "gettext": (2,), "pgettext": ((2, "c"), 3), "ngettext": (3, 4), "count": (3, 4),
    "N_": (1,), "NP_": ((1, "c"), 2), "in_both": (1,),
    "UserError": (1,), "NotFound": (1,), "PermissionDenied": (1,), "Ambiguous": (1,), "CampaignError": (1,),
}


SOURCE_PACKAGES = ("bot", "crm", "handlers", "integrations", "scheduler")


def source_messages(root: Path | None = None, packages=SOURCE_PACKAGES) -> dict:
    """{(msgctxt, msgid or (singular, plural)): "file:line"} for every text the code looks up: what
    Babel's extractor finds with ``KEYWORDS`` (what ``pybabel extract`` would write to a .pot), plus
    what its tokenizer cannot see: calls inside f-strings and ``@command(summary=...)``."""
    import ast

    from babel.messages.extract import extract_from_dir

    root = root or Path(__file__).resolve().parents[1]
    found: dict = {}
    for top in packages:
        for filename, lineno, message, _comments, context in extract_from_dir(
                str(root / top), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()):
            found.setdefault((context, message), f"{top}/{filename}:{lineno}")
        for path in sorted((root / top).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if name == "command":
                    for kw in node.keywords:
                        if kw.arg == "summary" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                            found.setdefault((None, kw.value.value), f"{where}:{node.lineno}")
                    continue
                spec = KEYWORDS.get(name)
                if spec is None:
                    continue
                context, ids = None, []
                for position in spec:
                    index = (position[0] if isinstance(position, tuple) else position) - 1
                    arg = node.args[index] if index < len(node.args) else None
                    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                        break
                    if isinstance(position, tuple):
                        context = arg.value
                    else:
                        ids.append(arg.value)
                else:
                    if ids:
                        found.setdefault((context, ids[0] if len(ids) == 1 else tuple(ids)), f"{where}:{node.lineno}")
    return found


def N_(msgid: str) -> str:
    """Marks a text for the catalogue where it is defined; it is translated where it is shown."""
    return msgid


def NP_(context: str, msgid: str) -> str:
    """``N_`` for a text translated with ``pgettext(lang, context, ...)`` where it is shown."""
    return msgid


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict:
    """{(msgctxt, msgid): msgstr} for ``lang``, msgstr a tuple for plural entries; {} for English."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.exists():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang, domain=DOMAIN)
    table = {}
    for message in cat:
        if not message.id or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
        value = tuple(message.string) if isinstance(message.string, (tuple, list)) else message.string
        if value and (not isinstance(value, tuple) or all(value)):
            table[(message.context, key)] = value
    return table


def gettext(lang: str, msgid: str, /, **values) -> str:
    """``msgid`` (English, may hold ``{name}`` fields) in ``lang``, its fields filled from ``values``."""
    return pgettext(lang, None, msgid, **values)


def pgettext(lang: str, context: str | None, msgid: str, /, **values) -> str:
    """As ``gettext`` for a msgid whose Chinese depends on where it is used (``context``)."""
    text = catalogue(lang).get((context, msgid), msgid) if lang != "en" else msgid
    return text.format(**values)


def in_both(msgid: str, /, **values) -> tuple[str, str]:
    """(English, Chinese) of ``msgid``, for results that carry both (the insights' ``why``/``why_zh``).
    A value that depends on the language is given as a function of it (``lambda lang: money(..., lang)``)."""
    return tuple(gettext(lang, msgid, **{k: v(lang) if callable(v) else v for k, v in values.items()})
                 for lang in ("en", "zh"))


def translate(lang: str, msgid: str, fallback: str | None, values: dict) -> str:
    """``gettext`` for a call that still carries its own Chinese (``fallback``), used only when the
    catalogue has no entry: code merged before tools/i18n_codemod.py ran over it keeps speaking Chinese."""
    if lang != "en" and fallback is not None and (None, msgid) not in catalogue(lang):
        return fallback.format(**values)
    return gettext(lang, msgid, **values)


def ngettext(lang: str, n: int | float, singular: str, plural_: str, /, **values) -> str:
    """"1 day" / "3 days" / "3 天": the form for ``n`` by CLDR's plural rule; ``{n}`` is ``n`` formatted
    for ``lang`` (1,000 / 1,000), other fields come from ``values``."""
    found = catalogue(lang).get((None, singular)) if lang != "en" else None
    if isinstance(found, tuple):
        # Chinese has one plural form; a language with several would index by its own rule
        text = found[0] if len(found) == 1 else found[0 if locale(lang).plural_form(abs(n)) == "one" else 1]
    else:
        text = singular if locale(lang).plural_form(abs(n)) == "one" else plural_
    return text.format(**{"n": number(n, lang), **values})


def count(lang: str, n: int, en_one: str, en_other: str, /, **values) -> str:
    """"1 day", "3 days", "3 天": a number with its noun (``ngettext`` with the number first)."""
    return ngettext(lang, n, en_one, en_other, **values)


LOCALES = {"en": "en_US", "zh": "zh_CN"}
_LOCALE_CACHE: dict[str, Locale] = {}


def locale(lang: str) -> Locale:
    tag = LOCALES.get(lang, "en_US")
    if tag not in _LOCALE_CACHE:
        _LOCALE_CACHE[tag] = Locale.parse(tag)
    return _LOCALE_CACHE[tag]


def number(n: int | float, lang: str = "en") -> str:
    return format_decimal(n, locale=LOCALES.get(lang, "en_US"))


def days_ago(lang: str, days: int) -> str:
    if days <= 0:
        return gettext(lang, "today")
    if days == 1:
        return gettext(lang, "yesterday")
    return count(lang, days, "{n} day ago", "{n} days ago")


def days_overdue(lang: str, days: int) -> str:
    """"1 day overdue", "less than a day overdue" rather than "(0d overdue)"."""
    if days <= 0:
        return gettext(lang, "less than a day overdue")
    return count(lang, days, "{n} day overdue", "{n} days overdue")


# ---- dates as words -------------------------------------------------------------------------------
# English keeps the house style ("Mon 23 Nov", "15 Dec 2026"); Chinese takes CLDR's patterns from Babel
# ("11月23日 周一", "2026年12月15日"), so no date words are written out here.

def day_with_weekday(day, lang: str, with_year: bool = False) -> str:
    """"Mon 23 Nov" ("Mon 23 Nov 2025" with the year), "11月23日 周一" ("2025年11月23日 周一")."""
    if lang == "zh":
        from babel.dates import format_date, format_skeleton

        return (f"{format_skeleton('yMMMd' if with_year else 'MMMd', day, locale=LOCALES['zh'])} "
                f"{format_date(day, 'EEE', locale=LOCALES['zh'])}")
    return f"{day:%a %-d %b %Y}" if with_year else f"{day:%a %-d %b}"


def weekday_name(weekday: int, lang: str) -> str:
    """"Mon", "周一" for ``date.weekday()`` 0 (CLDR's abbreviated day names)."""
    from babel.dates import get_day_names

    return get_day_names("abbreviated", locale=LOCALES.get(lang, "en_US"))[weekday]


def day_month(day, lang: str) -> str:
    """"05 Dec", "12月5日": a date this year, short."""
    if lang == "zh":
        from babel.dates import format_skeleton

        return format_skeleton("MMMd", day, locale=LOCALES["zh"])
    return f"{day:%d %b}"


def full_date(day, lang: str) -> str:
    """"15 Dec 2026", "2026年12月15日"."""
    if lang == "zh":
        from babel.dates import format_skeleton

        return format_skeleton("yMMMd", day, locale=LOCALES["zh"])
    return f"{day.day} {day:%b %Y}"


def list_of(parts: list[str], lang: str) -> str:
    """Phrases one after another: "a, b, c"; "a，b，c" in Chinese (its own comma)."""
    return gettext(lang, ", ").join(parts)


def language_name(code: str) -> str:
    """A language by its own name, as language pickers show it: "English", "中文" (CLDR, via Babel)."""
    return locale(code).get_language_name(LOCALES.get(code, "en_US"))


def with_article(word: str) -> str:
    """"an email", "a call": the English indefinite article by the word's sound (good enough for our nouns)."""
    return ("an " if word[:1].lower() in "aeio" else "a ") + word


# ---- money ---------------------------------------------------------------------------------------------

CURRENCIES = frozenset(list_currencies())
SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "CN¥": "CNY", "RMB": "CNY",
           "元": "CNY", "块": "CNY", "人民币": "CNY", "美元": "USD", "欧元": "EUR", "英镑": "GBP", "日元": "JPY",
           "JP¥": "JPY", "HK$": "HKD", "港币": "HKD", "港元": "HKD", "A$": "AUD", "C$": "CAD", "S$": "SGD", "₩": "KRW",
           "₹": "INR", "CHF": "CHF"}
MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000, "mn": 1_000_000, "bn": 1_000_000_000, "万": 10_000,
               "千": 1_000, "百万": 1_000_000, "亿": 100_000_000}
_UNIT = "|".join(sorted((re.escape(k) for k in SYMBOLS), key=len, reverse=True))
_MONEY = re.compile(
    rf"^(?P<pre>{_UNIT}|[A-Za-z]{{3}})?\s*(?P<num>\d+(?:[,，]\d{{3}})*(?:\.\d+)?|\d*\.\d+)\s*"
    rf"(?P<mult>百万|万|千|亿|bn|mn|k|m)?\s*(?P<post>{_UNIT}|[A-Za-z]{{3}})?$", re.I)


class Money(tuple):
    """(amount, currency or None when the text named none)."""

    def __new__(cls, amount: float, currency: str | None):
        return super().__new__(cls, (amount, currency))

    @property
    def amount(self) -> float:
        return self[0]

    @property
    def currency(self) -> str | None:
        return self[1]


def currency_code(word: str) -> str | None:
    """ISO code for a symbol, a Chinese name or a code ("rmb", "eur"); None when it names no currency."""
    word = word.strip()
    if word in SYMBOLS:
        return SYMBOLS[word]
    if word.upper() in SYMBOLS:
        return SYMBOLS[word.upper()]
    if len(word) == 3 and word.isalpha() and word.upper() in CURRENCIES:
        return word.upper()
    return None


def parse_money(text: str) -> Money | None:
    """"12000", "12,000", "$12k", "¥50000", "5万", "5万元", "EUR 3.5k", "3500eur" → Money; anything else → None.

    A Chinese multiplier or 元 with no other currency means yuan: nobody writes "5万" for dollars.
    """
    text = (text or "").strip().replace(" ", "")
    m = _MONEY.match(text)
    if not m:
        return None
    currencies = []
    for part in (m.group("pre"), m.group("post")):
        if part:
            code = currency_code(part)
            if code is None:
                return None  # "abc12" is no amount
            currencies.append(code)
    if len(set(currencies)) > 1:
        return None
    try:
        number_ = Decimal(m.group("num").replace(",", "").replace("，", ""))  # input words
    except InvalidOperation:
        return None
    mult = (m.group("mult") or "").lower()
    amount = float(number_ * MULTIPLIERS[mult])
    currency = currencies[0] if currencies else ("CNY" if mult in ("万", "千", "百万", "亿") else None)
    return Money(amount, currency)


def format_money(amount: float, currency: str = "USD", lang: str = "en") -> str:
    """"$12,000", "CN¥50,000" (English), "US$12,000", "¥50,000" (Chinese): whole units unless there are cents."""
    amount = float(amount or 0)
    fmt = "¤#,##0.00" if round(amount, 2) != round(amount) else "¤#,##0"
    try:
        return format_currency(amount, currency or "USD", format=fmt, locale=LOCALES.get(lang, "en_US"),
                               currency_digits=False)
    except Exception:  # an unknown code stored by an old version: still readable
        return f"{currency} {amount:,.0f}"


def money_totals(pairs, lang: str = "en", rates: dict[str, float] | None = None, base: str = "USD") -> str:
    """Totals of (amount, currency) pairs: "$12,000 + CN¥50,000", or one figure in ``base`` when
    ``rates`` (units of ``base`` per unit of each currency) cover every currency, saying so."""
    by_currency: dict[str, float] = defaultdict(float)
    for amount, currency in pairs:
        by_currency[currency or base] += float(amount or 0)
    if not by_currency:
        return format_money(0, base, lang)
    if len(by_currency) == 1:
        (cur, total), = by_currency.items()
        return format_money(total, cur, lang)
    rates = dict(rates or {})
    rates.setdefault(base, 1.0)
    if all(c in rates for c in by_currency):
        total = sum(v * rates[c] for c, v in by_currency.items())
        note = gettext(lang, " (converted to {base} at the business's rates)", base=base)
        return format_money(total, base, lang) + note
    ordered = sorted(by_currency.items(), key=lambda kv: (kv[0] != base, -kv[1]))
    return " + ".join(format_money(v, c, lang) for c, v in ordered)


def parse_rates(text: str | None) -> dict[str, float]:
    """CRM_CURRENCY_RATES "CNY=0.14,EUR=1.08" → {"CNY": 0.14, "EUR": 1.08} (units of CRM_CURRENCY each)."""
    rates: dict[str, float] = {}
    for part in (text or "").split(","):
        if "=" not in part:
            continue
        code, _, value = part.partition("=")
        code = code.strip().upper()
        try:
            rate = float(value)
        except ValueError:
            continue
        if code in CURRENCIES and rate > 0:
            rates[code] = rate
    return rates


class Speaks:
    """Texts in the reader's language for anything that knows it (``lang``): a command's ``Context``
    and a scheduled message's ``Voice`` say things the same way."""

    lang: str

    def t(self, en: str, zh: str | None = None, /, **values) -> str:
        """``en`` in the reader's language from the catalogue (crm/locale), fields filled from ``values``.

        ``zh`` is only for a branch written before the catalogue: used when the catalogue lacks ``en``
        (tools/i18n_codemod.py moves such pairs into it; a test fails while any is left)."""
        return translate(self.lang, en, zh, values)

    def pt(self, context: str, en: str, /, **values) -> str:
        """As ``t`` for an English text whose Chinese depends on where it is used (gettext's msgctxt)."""
        return pgettext(self.lang, context, en, **values)

    def plural(self, n: int, en_one: str, en_other: str, zh: str | None = None, /, **values) -> str:
        """"1 day" / "3 days" / "3 天" by CLDR's plural rules (Babel) and the catalogue; ``{n}`` is ``n``."""
        if zh is not None and self.lang == "zh" and (None, en_one) not in catalogue("zh"):
            return zh.format(n=number(n, "zh"), **values)
        return ngettext(self.lang, n, en_one, en_other, **values)
