"""Writes the labelled corpus from the hand-written material in sources.py (deterministic, seed 7).

    .venv/bin/python -m tests.corpus.generate

Outputs, next to this file:
    customers.jsonl                 the directory the staff notes name (plus look-alike distractors)
    staff_notes_en.jsonl, staff_notes_zh.jsonl            text + expected customer, kind, times, amount
    customer_messages_en.jsonl, customer_messages_zh.jsonl  text + intent
and crm/understanding/data/customer_messages.jsonl, the training set the runtime model learns from
(the two message files together, text and intent only).

Expected dates are what the phrase the generator inserted means on its own (bot.dates at the fixed
NOW below): the check is that the note reader gives each date its role (when it happened, when to
follow up), not a re-test of the date layer. ``group`` names the hand-written core a row came from,
so cross-validation can keep every variant of one core on the same side.
"""
from __future__ import annotations

import json
import random
import re
from datetime import datetime, timezone
from pathlib import Path

from bot.dates import parse_when
from crm.understanding.notes import expand
from tests.corpus import sources as S

HERE = Path(__file__).parent
DATA = HERE.parents[1] / "crm" / "understanding" / "data"
NOW = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)  # a Monday, end of the working day
DISTRACTORS = [("Sarah Connor", "Skynet Security"), ("John Wick", "Continental Hotels"), ("Wang Fang", "Acme Asia"),
               ("Emma Stone", "Stone Media"), ("Daniel Craig", "Spectre Ltd"), ("王芳", "环宇集团"), ("李强", "华夏银行"),
               ("张伟", "腾讯云"), ("陈晨", "东方电气"), ("刘芳", "星河地产")]


def _iso(moment):
    return moment.isoformat() if moment else None


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    op = rng.choice(["swap", "drop", "double"])
    if op == "swap":
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif op == "drop":
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


# ---------------------------------------------------------------- staff notes


def _mention_en(rng, name, company, solo_company):
    first = name.split()[0]
    forms = [name, f"{name} at {company}", f"{name} ({company})", f"{first} from {company}", f"{company}'s {name}",
             f"{name} of {company}", f"{first} ({company})", name.lower(), f"{name} @ {company}"]
    if solo_company:
        forms.append(company)
    return rng.choice(forms)


def _mention_zh(rng, name, company, solo_company):
    forms = [name, f"{company}的{name}", f"{name}（{company}）", f"{company}{name}", f"{name}({company})"]
    if solo_company:
        forms.append(company)
    return rng.choice(forms)


def _amount(rng, template, key):
    if key == "n":
        n = rng.choice([3, 5, 10, 12, 15, 20, 25, 30, 40, 50, 80, 100, 150, 200])
        return template.format(n=n), float(n)
    if key == "k":
        k = rng.choice([5, 8, 12, 15, 20, 25, 40, 60, 75, 120])
        return template.format(k=k), float(k * 1000)
    if key == "w":
        w = rng.choice([2, 3, 5, 8, 10, 12, 20, 50])
        return template.format(w=w), float(w * 10000)
    v = rng.choice([4500, 9800, 12000, 18500, 30000, 48000, 75000])
    shown = rng.choice([f"{v}", f"{v:,}"]) if "元" not in template else f"{v}"
    return template.format(v=shown), float(v)


def staff_notes(lang: str, count: int, rng: random.Random) -> list[dict]:
    own = S.CUSTOMERS_EN if lang == "en" else S.CUSTOMERS_ZH
    other = S.CUSTOMERS_ZH if lang == "en" else S.CUSTOMERS_EN
    contact = S.EN_CONTACT if lang == "en" else S.ZH_CONTACT
    past_words = S.EN_WHEN_PAST if lang == "en" else S.ZH_WHEN_PAST
    future_words = S.EN_WHEN_FUTURE if lang == "en" else S.ZH_WHEN_FUTURE
    topics = S.EN_TOPICS if lang == "en" else S.ZH_TOPICS
    amounts = S.EN_AMOUNTS if lang == "en" else S.ZH_AMOUNTS
    follows = S.EN_FOLLOW if lang == "en" else S.ZH_FOLLOW
    filler = S.EN_FILLER if lang == "en" else S.ZH_FILLER
    companies = [c for _, c in S.CUSTOMERS_EN + S.CUSTOMERS_ZH + DISTRACTORS]
    rows = []
    for i in range(count):
        name, company = rng.choice(other) if rng.random() < 0.1 else rng.choice(own)
        solo = companies.count(company) == 1
        is_zh_name = bool(re.search(r"[\u3400-\u9fff]", name))
        mention = (_mention_zh if is_zh_name else _mention_en)(rng, name, company, solo)
        kind = rng.choice(list(contact))
        contact_t = rng.choice(contact[kind])
        head = contact_t.format(c=mention)
        past = rng.choice(past_words) if rng.random() < 0.75 else None
        topic = rng.choice(topics) if rng.random() < 0.8 else None
        amount_text, amount = _amount(rng, *rng.choice(amounts)) if rng.random() < 0.4 else (None, None)
        follow_t = rng.choice(follows) if rng.random() < 0.6 else None
        future = rng.choice(future_words) if follow_t else None
        follow = follow_t.format(d=future) if follow_t else None
        if topic and lang == "en" and rng.random() < 0.15:
            topic = _typo(rng, topic)
        order = rng.randrange(4)
        sep = rng.choice([", ", "; ", ". ", " - "]) if lang == "en" else rng.choice(["，", "；", "。", "，"])
        if lang == "en":
            if order == 0:
                parts = [f"{head} {past}" if past else head, topic, amount_text, follow]
            elif order == 1 and past:
                parts = [f"{past[0].upper() + past[1:]}: {head}", topic, amount_text, follow]
            elif order == 2 and follow:
                parts = [follow[0].upper() + follow[1:], f"{head} {past}" if past else head, amount_text, topic]
            else:
                parts = [head, topic, amount_text, f"({past})" if past else None, follow]
        else:
            if order == 0:
                parts = [f"{past}{head}" if past else head, topic, amount_text, follow]
            elif order == 1 and follow:
                parts = [follow, f"{past}{head}" if past else head, amount_text, topic]
            elif order == 2 and past:
                parts = [past, head + "：" + (topic or ""), amount_text, follow]
            else:
                parts = [head, f"时间{past}" if past else None, topic, amount_text, follow]
        text = sep.join(p for p in parts if p) + rng.choice(filler)
        if lang == "en" and rng.random() < 0.12:
            text = text.lower()
        occurred = parse_when(expand(past), now=NOW, prefer="past") if past else None
        follow_at = parse_when(expand(future), now=NOW, prefer="future") if future else None
        if kind == "note" and past is None:
            pass
        rows.append({"text": text, "customer": name, "kind": kind, "occurred": _iso(occurred),
                     "follow_up": _iso(follow_at), "amount": amount, "lang": lang,
                     "group": f"note:{lang}:{kind}:{S.ZH_CONTACT[kind].index(contact_t) if lang == 'zh' else S.EN_CONTACT[kind].index(contact_t)}"})
    return rows


# ---------------------------------------------------------------- customer messages


def _vary_en(rng, core: str, intent: str) -> str:
    text = core
    r = rng.random()
    if r < 0.2:
        text = _typo(rng, text)
    if rng.random() < 0.15:
        for en, zh in S.MIXED_EN.items():
            if en in text:
                text = text.replace(en, zh, 1)
                break
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    closers = S.CLOSERS_EN if rng.random() < 0.3 else S.CLOSERS_BY_INTENT_EN[intent]
    text = rng.choice(S.OPENERS_EN) + text + rng.choice(closers)
    if rng.random() < 0.07:
        text = text.upper()
    return text


def _vary_zh(rng, core: str, intent: str) -> str:
    text = core
    if rng.random() < 0.25:
        for zh, en in S.MIXED_ZH.items():
            if zh in text:
                text = text.replace(zh, f" {en} " if rng.random() < 0.5 else en, 1).strip()
                break
    closers = S.CLOSERS_ZH if rng.random() < 0.3 else S.CLOSERS_BY_INTENT_ZH[intent]
    return rng.choice(S.OPENERS_ZH) + text + rng.choice(closers)


def customer_messages(lang: str, per_core: int, rng: random.Random) -> list[dict]:
    cores = S.MSG_EN if lang == "en" else S.MSG_ZH
    vary = _vary_en if lang == "en" else _vary_zh
    rows, seen = [], set()
    for intent, items in cores.items():
        for index, core in enumerate(items):
            made = 0
            for _attempt in range(per_core * 4):
                text = core if made == 0 else vary(rng, core, intent)
                if text in seen:
                    continue
                seen.add(text)
                rows.append({"text": text, "intent": intent, "lang": lang, "group": f"msg:{lang}:{intent}:{index}"})
                made += 1
                if made >= per_core:
                    break
    rng.shuffle(rows)
    return rows


def write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    rng = random.Random(7)
    directory = [{"name": n, "company": c} for n, c in S.CUSTOMERS_EN + S.CUSTOMERS_ZH + DISTRACTORS]
    write(HERE / "customers.jsonl", directory)
    for lang in ("en", "zh"):
        write(HERE / f"staff_notes_{lang}.jsonl", staff_notes(lang, 560, rng))
    messages = {lang: customer_messages(lang, 3, rng) for lang in ("en", "zh")}
    for lang, rows in messages.items():
        write(HERE / f"customer_messages_{lang}.jsonl", rows)
    DATA.mkdir(parents=True, exist_ok=True)
    write(DATA / "customer_messages.jsonl",
          [{"text": r["text"], "intent": r["intent"]} for rows in messages.values() for r in rows])


if __name__ == "__main__":
    main()
