"""A staff member's free-text note → a draft of what it implies: who, what kind, when, what next.

    Called Wang Wei at Globex yesterday 4pm, they want 20 more seats, follow up next Tuesday 10am
    昨天下午和环球公司的王伟开了会，他们想再加20个席位，下周二上午10点跟进

The note is cut into clauses (punctuation, "and", "then"). A clause with a follow-up cue ("follow up",
"send … by", "跟进", "前") is read for a future date, any other for a past one; a past date is when the
contact happened, a future one is the follow-up's due time and its clause (without the date) the
follow-up's title. The kind is the first contact word outside follow-up clauses. Customers are found
by looking up the note's name-like pieces (``lookup``, the store's fuzzy search) and ranking people
whose name and company are both named first.

Pure: dates come from the ``when`` callable (``bot.dates.extract_when`` bound to the user's clock),
customers from ``lookup``; nothing here touches the store.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Optional

from rapidfuzz import fuzz

from crm.understanding import lexicon
from crm.understanding.amounts import Amount, find_amounts, main_amount

When = Callable[[str, str], "tuple[Optional[datetime], str]"]  # (text, "past"|"future") -> (moment, rest)


@dataclass
class Candidate:
    id: int
    name: str
    company: str = ""
    score: float = 0.0  # 0-100, the store's search score for the best query that found it
    matched: list[str] = field(default_factory=list)  # what in the note matched it


@dataclass
class NoteDraft:
    text: str
    kind: str = "note"
    occurred_at: Optional[datetime] = None  # None: "now" (when it is confirmed)
    summary: str = ""
    follow_up_at: Optional[datetime] = None
    follow_up_title: str = ""
    wants_follow_up: bool = False  # a follow-up was asked for, with or without a date
    amount: Optional[Amount] = None
    customer: Optional[Candidate] = None  # the confident choice
    candidates: list[Candidate] = field(default_factory=list)  # when not confident: the best few
    mentions: list[str] = field(default_factory=list)


Lookup = Callable[[str], "list[Candidate]"]

# ---------------------------------------------------------------- normalisation

_ABBREVIATIONS = [
    (r"\bw/o\b", "without"), (r"\bw/", "with "), (r"\bf/u\b", "follow up"), (r"\bfu\b", "follow up"),
    (r"\bfup\b", "follow up"), (r"\bmtg\b", "meeting"), (r"\btmrw\b|\btmr\b|\btmw\b|\btomoz\b|\b2morrow\b",
                                                             "tomorrow"),
    (r"\btdy\b", "today"), (r"\byday\b|\byest\b|\bytd\b", "yesterday"), (r"\bnxt\b", "next"),
    (r"\bwk\b", "week"), (r"\bwks\b", "weeks"), (r"\bre:", "about"), (r"\bpls\b|\bplz\b", "please"),
    (r"\bmins\b", "minutes"), (r"\bhrs\b", "hours"), (r"\bb4\b", "before"), (r"\bthru\b", "through"),
    # "sat down with", "sun", "mon" (a name) are too often no weekday to be expanded
    (r"\btues?\b", "tuesday"), (r"\bweds?\b", "wednesday"), (r"\bthu(?:rs?)?\b", "thursday"),
    (r"\bfri\b", "friday"),
    (r"\beod\b", "end of day"), (r"\beow\b", "end of week"), (r"\beom\b", "end of month"),
]
_ABBREVIATIONS = [(re.compile(p, re.I), r) for p, r in _ABBREVIATIONS]


def expand(text: str) -> str:
    """Common shorthand spelled out, so the date layer and the word lists see whole words."""
    for rx, repl in _ABBREVIATIONS:
        text = rx.sub(repl, text)
    return text


# ---------------------------------------------------------------- small talk


_WORDS = re.compile(r"[\w'’]+|[\u3400-\u9fff]", re.U)
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF\uFE0F]")


def is_small_talk(text: str) -> bool:
    """"thanks", "hi", "ok 👍", "好的" — a message that is clearly no note."""
    plain = _EMOJI.sub("", text).strip().casefold()
    plain = re.sub(r"[!！.。,，~～?？…\s]+$", "", plain).strip()
    plain = re.sub(r"^[!！.。,，~～\s]+", "", plain)
    if not plain:
        return True
    if plain in lexicon.SMALL_TALK:
        return True
    words = re.findall(r"[a-z']+|[\u3400-\u9fff]+", plain)
    if not words:
        return True
    # a couple of greeting/thanks words and nothing else ("hi there", "ok thanks", "好的谢谢")
    joined = " ".join(words)
    if len(joined) <= 24:
        rest = joined
        for phrase in sorted(lexicon.SMALL_TALK | {"there", "team", "all", "guys", "so much", "a lot", "bot",
                                                      "啊", "呀", "哦", "了", "你", "大家", "们"}, key=len, reverse=True):
            rest = re.sub(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", " ", rest)
        if not rest.strip():
            return True
    return False


# ---------------------------------------------------------------- clauses and cues

_CLAUSE_SPLIT = re.compile(r"\s*(?:[;；。!！?？\n]+|\.\s+|\.$|(?<!\d),\s*|,(?!\d)\s*|[，、：]\s*|:\s+|\s+[-–—]+\s+|\s+(?:and|then|but|also|plus|so)\s+"
                           r"|\s*\+\s+)\s*", re.I)
STRONG_CUES = ["follow up*", "follow-up*", "followup*", "folow up*", "follwo up", "remind*", "reminder",
               "next step*", "todo", "to do", "to-do", "circle back", "check in", "check back", "touch base",
               "call back", "callback", "get back", "revert", "chase", "call her back", "call him back",
               "call them back", "ring back", "try again", "get back to",
               "跟进", "回访", "提醒", "下一步", "待办", "再联系", "再跟", "记得"]
WEAK_CUES = ["need to", "needs to", "have to", "must", "will", "i'll", "we'll", "gonna", "going to", "should",
             "plan to", "planning to", "send", "prepare", "prep", "schedule", "book", "set up", "arrange", "by",
             "before", "due", "deadline", "ping", "please", "next",
             "需要", "要", "得", "准备", "安排", "发送", "发给", "之前", "以前", "截止", "再打", "再约", "落实", "前",
             "后", "下周", "下个月", "明天", "后天", "催", "再催", "回复", "答复", "reply", "answer", "again",
             "再沟通", "再谈", "再联系"]


def _clauses(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for m in _CLAUSE_SPLIT.finditer(text):
        if m.start() > pos:
            out.append((pos, text[pos:m.start()]))
        pos = m.end()
    if pos < len(text):
        out.append((pos, text[pos:]))
    out = [(p, c) for p, c in out if c.strip()]
    merged: list[tuple[int, str]] = []
    carry = None
    for p, c in out:
        if carry is not None:
            p, c = carry[0], f"{carry[1]} {c}"
            carry = None
        # "next step: demo Thursday 2pm", "提醒：周五前发报价" — a bare cue belongs to what follows
        if _bare_cue(c):
            carry = (p, c)
            continue
        merged.append((p, c))
    if carry is not None:
        merged.append(carry)
    return merged


def _bare_cue(clause: str) -> bool:
    """Only a cue, nothing else: "next step", "follow up", "提醒"."""
    hits = lexicon.find_all(clause, STRONG_CUES)
    if not hits:
        return False
    rest = clause
    for _s, _e, word in hits:
        rest = rest.replace(word, " ")
    return not re.sub(r"[\s:：,，.。\-–—]+|\b(?:me|us|with|on|about|re)\b", "", rest, flags=re.I)


def _cue(clause: str) -> str:
    """"strong", "weak" or "" — how much the clause reads as something still to do."""
    if lexicon.count(clause, STRONG_CUES):
        return "strong"
    if lexicon.count(clause, WEAK_CUES):
        return "weak"
    return ""


# ---------------------------------------------------------------- the kind of contact


def kind_of(text: str) -> str:
    hits = []
    for kind, words in lexicon.KIND_WORDS.items():
        for start, _end, _w in lexicon.find_all(text, words):
            hits.append((start, lexicon.KIND_ORDER.index(kind), kind))
    if not hits:
        return ""
    return min(hits)[2]


# ---------------------------------------------------------------- customer mentions

_EN_STOP = set("""
a an the i we me my our us you your he she him her his they them their it its this that these those there here
and or but so then also plus to of in on at by for from with without about as into over after before via per
is are was were be been being have has had do did does done will would can could should may might must shall
not no yes ok okay please thanks thank just still already again very really quite more most much many some any
all each every both few other another new old good great bad nice big small up down out off back over under
called call calls calling phoned rang met meet meeting meetings lunch dinner breakfast coffee visit visited demo
email emailed mail mailed chat chatted texted messaged pinged spoke talked discussed said told asked want wants
wanted need needs needed like likes liked interested looking look sent send sending quote quotation proposal
pricing price prices renewal renew contract deal deals budget seats seat licenses license users follow followup
followed remind reminder next step steps week weeks month months day days today tomorrow yesterday tonight
morning afternoon evening night monday tuesday wednesday thursday friday saturday sunday january february march
april may june july august september october november december am pm end start last this earlier later soon
ago time hour hours minute minutes re about regarding concerning concerns concern issue issues question
questions team guy guys folks people client customer customers account company their our revised updated
update info details docs deck slides trial plan plans upgrade order orders purchase buy bought pay paid invoice
discount onboarding training support call-back phone zoom teams slack whatsapp wechat sms text note notes
happy unhappy upset keen positive negative went go going get got make made take took give gave let know
asap urgent note: fyi btw lol hey hi hello dear mr mrs ms dr sir madam sat sun mon tue wed thu fri
jan feb mar apr jun jul aug sep sept oct nov dec jumped zoom quick cold left voicemail ran workshop onsite
breakfast dm'd dm replied wrote got from heard intel update
""".split())
_ZH_BREAK = ("早上", "中午", "晚上", "上午", "下午", "昨晚", "今早", "前天", "上周", "下周", "本周", "这周", "周一", "周二", "周三", "周四", "周五", "周六", "周日",
             "月底", "时间", "备注", "情况", "更新", "听说", "记录", "记得", "下一步", "收到", "接到", "回复", "沟通",
             "聊了", "发了", "短信", "钉钉", "企业微信", "碰面", "面谈", "吃了", "午饭", "演示", "上门", "回电", "致电",
             "来电", "那边", "关于", "和", "与", "跟", "同", "给", "的", "在", "对", "向", "把", "被", "了", "我", "他们",
             "她们", "他", "她", "讨论", "打了", "开了", "开会", "见面", "拜访", "一起", "客户", "老板", "经理", "先生",
             "女士", "小姐", "电话", "邮件", "微信", "会议", "午餐", "晚餐", "跟进", "提醒", "报价", "合同", "价格", "续约",
             "席位", "需求", "方案", "问题", "一下", "一个", "今天", "昨天", "明天", "上午", "下午", "晚上", "喝咖啡",
             "吃晚饭", "请", "约", "说", "聊", "打", "发")
_ZH_SPLIT = re.compile("|".join(re.escape(w) for w in sorted(_ZH_BREAK, key=len, reverse=True)))
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_LATIN_TOKEN = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z0-9\u00c0-\u024f&.'’\-]*")


def mentions(text: str) -> list[str]:
    """Pieces of the note that may name a customer, most specific first: "wang wei", "globex", "王伟"."""
    found: list[str] = []
    # parentheses and quotes name things on purpose
    for m in re.finditer(r"[(（\"“「]([^)）\"”」]{2,60})[)）\"”」]", text):
        found.append(m.group(1).strip())
    # an #id or an email
    found += re.findall(r"#\d{1,18}", text)
    found += re.findall(r"[\w.+-]+@[\w-]+\.[\w.-]+", text)
    # runs of Latin words that are not common words
    tokens = [(m.group(0).strip(".'’-"), m.start()) for m in _LATIN_TOKEN.finditer(text)]
    run: list[str] = []

    def flush():
        for size in (3, 2, 1):
            for i in range(len(run) - size + 1):
                piece = " ".join(run[i:i + size])
                if size == 1 and len(piece) < 3:
                    continue
                found.append(piece)
        run.clear()

    prev_end = -1
    for word, start in tokens:
        low = word.casefold()
        gap = text[prev_end:start] if prev_end >= 0 else " "
        if low in _EN_STOP or low.rstrip("s") in _EN_STOP or not word or (prev_end >= 0 and re.search(r"[,;:()/]", gap)):
            flush()
        if low not in _EN_STOP and low.rstrip("s") not in _EN_STOP and word:
            run.append(word)
        prev_end = start + len(word)
    flush()
    # Chinese: the pieces left between function words and contact words
    for cjk in _CJK_RUN.findall(text):
        for piece in _ZH_SPLIT.split(cjk):
            if 2 <= len(piece) <= 12:
                found.append(piece)
            if len(piece) >= 3:
                # "万家超市许晴", "王伟他们": names run into their company or the next word
                for size in (4, 3, 2):
                    found += [piece[i:i + size] for i in range(len(piece) - size + 1)]
    return list(dict.fromkeys(p for p in found if p.strip()))


def choose_customer(note_mentions: list[str], lookup: Lookup) -> tuple[Optional[Candidate], list[Candidate]]:
    """The customer the note is about, or (None, the best few) when it cannot be told.

    Each mention is looked up; a customer gains from its best name match and from its company being
    named too ("Wang Wei at Globex" beats another Wang Wei). A clear winner is chosen; close calls
    are left to the user.
    """
    scores: dict[int, Candidate] = {}
    name_hit: dict[int, float] = {}
    company_hit: dict[int, float] = {}
    for q in note_mentions[:24]:
        qf = q.casefold()
        for cand in lookup(q):
            entry = scores.setdefault(cand.id, Candidate(cand.id, cand.name, cand.company, 0.0, []))
            cname, ccomp = cand.name.casefold(), (cand.company or "").casefold()
            if qf.startswith("#") or "@" in qf:
                name_hit[cand.id] = max(name_hit.get(cand.id, 0), 100.0)
            elif qf == cname or (cand.score >= 85 and (
                    any(w.startswith(qf) for w in cname.split()) if len(qf) < 4 and qf.isascii()
                    else len(qf) >= 2 and (qf in cname.split() or qf in cname))):
                bonus = 100.0 if qf == cname else cand.score * (0.8 + 0.2 * min(len(qf) / max(len(cname), 1), 1))
                name_hit[cand.id] = max(name_hit.get(cand.id, 0), bonus)
            elif ccomp and (qf == ccomp or (len(qf) >= 2 and qf in ccomp) or (len(ccomp) >= 2 and ccomp in qf)):
                company_hit[cand.id] = max(company_hit.get(cand.id, 0), 80.0 if qf != ccomp else 85.0)
            elif cand.score >= 75 and len(qf) >= 4 and fuzz.ratio(qf, cname) >= 80:
                # a near miss (a typo) of the name itself, not of the company or email
                name_hit[cand.id] = max(name_hit.get(cand.id, 0), fuzz.ratio(qf, cname) * 0.85)
            entry.matched.append(q)
    ranked = []
    for cid, cand in scores.items():
        n, c = name_hit.get(cid, 0.0), company_hit.get(cid, 0.0)
        cand.score = n + 0.35 * c if n else (0.9 * c if c >= 85 else 0.6 * c)
        ranked.append(cand)
    ranked.sort(key=lambda c: (-c.score, c.name, c.id))
    ranked = [c for c in ranked if c.score >= 45]
    if not ranked:
        return None, []
    top = ranked[0]
    runner = ranked[1].score if len(ranked) > 1 else 0.0
    if top.score >= 70 and top.score - runner >= 8:
        return top, ranked[:5]
    if len(ranked) == 1 and company_hit.get(top.id, 0) >= 80:
        return top, ranked  # the only customer whose company the note names
    return None, ranked[:5]


# ---------------------------------------------------------------- the whole note


_BRACKETS = re.compile(r"[()（）\[\]【】]")
_VAGUE = re.compile(r"\b(next|this|coming) (year|quarter|half)\b|\bq[1-4]\b|明年|今年|下季度|下个季度|季度|下半年|上半年",
                    re.I)
_STATE_UNTIL = re.compile(r"\b(until|till|til|frozen|through|thru)\b|冻结|直到|到明年|之后才", re.I)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,.;:-—–，。；：、")
    return text


def _title(rest: str) -> str:
    rest = rest.strip()
    for _ in range(3):  # "and then remind me to call her" → "call her"
        rest = re.sub(r"^(?:(?:and|then|also|so|i'll|we'll|i will|we will|will|need to|to|please)\s+)+", "", rest,
                      flags=re.I)
        rest = re.sub(r"^(?:follow[\s-]?up|f/u|remind me|reminder)\s*(?:with|on|about|re|:)?\s*", "", rest,
                      flags=re.I)
        rest = re.sub(r"^(?:跟进|提醒我?|记得)\s*", "", rest)
    return _tidy(rest)


def parse_note(text: str, *, when: When, now: datetime, lookup: Lookup | None = None) -> NoteDraft:
    """Read a note. ``now`` is aware (the user's zone); ``when`` finds a date in a clause."""
    original = " ".join((text or "").split())
    expanded = expand(original)
    draft = NoteDraft(text=original)
    occurred: list[datetime] = []
    follow: list[tuple[int, datetime, str]] = []  # (priority: 0 strong cue, 1 weak cue, 2 none, moment, rest)
    kept_for_summary: list[str] = []
    follow_titles: list[str] = []
    kind_text: list[str] = []
    soon = now + timedelta(minutes=5)
    draft.mentions = mentions(expanded)
    masked, restore = expanded, {}
    if lookup is not None:
        draft.customer, draft.candidates = choose_customer(draft.mentions, lookup)
        if draft.customer is not None:
            # the customer's own words are no date or kind ("明日教育", "Sunrise Calls Ltd")
            own = [draft.customer.name, draft.customer.company]
            pieces = [m for m in draft.customer.matched
                      if any(m.casefold() in (o or "").casefold() for o in own)]
            masked, restore = _mask(expanded, own + pieces)
    # amounts are no times ("renewal at 12,000 USD" is not noon)
    masked, more = _mask(masked, [a.text for a in find_amounts(masked)], start=len(restore))
    restore.update(more)
    for _pos, clause in _clauses(_BRACKETS.sub(" ", masked)):
        cue = _cue(clause)
        prefer = "future" if cue else "past"
        moment, rest = when(clause, prefer)
        if not cue and moment is not None and moment < now - timedelta(days=200):
            # "培训 12月8日", "set it up for the 10th of December": a date months back read as past is
            # more likely the coming one
            ahead, ahead_rest = when(clause, "future")
            if ahead is not None and ahead <= now + timedelta(days=120):
                moment, rest = ahead, ahead_rest
        if cue == "weak" and moment is not None and moment > now + timedelta(days=180):
            # "replied by email on Nov 27": a weak cue ("by") must not push a recent date a year ahead
            past, past_rest = when(clause, "past")
            if past is not None and past >= now - timedelta(days=180):
                moment, rest = past, past_rest
        second = None
        if moment is not None:
            second, rest2 = when(rest, prefer)
            if second is not None:
                rest = rest2
        moments = [m for m in (moment, second) if m is not None]
        if not cue:
            # "this morning" written at 5am: later today, with nothing planned about it, is today so far
            moments = [now if m > soon and m.date() == now.date() else m for m in moments]
        future_here = [m for m in moments if m > soon]
        past_here = [m for m in moments if m <= soon]
        occurred += past_here
        if future_here and cue != "strong" and (_STATE_UNTIL.search(clause) or _VAGUE.search(clause)):
            future_here = []  # "budget is frozen until Q1", "预算冻结到明年一季度": a state, not a plan
            kept_for_summary.append(clause)
            kind_text.append(clause)
            continue
        if future_here or cue == "strong":
            if future_here:
                follow.append(({"strong": 0, "weak": 1}.get(cue, 2), min(future_here), rest))
            draft.wants_follow_up = True
            follow_titles.append(_title(rest))
            if past_here:
                kind_text.append(clause)
                kept_for_summary.append(rest)
        else:
            kind_text.append(clause)
            kept_for_summary.append(rest if moments else clause)
    draft.kind = kind_of(" , ".join(kind_text)) or "note"
    draft.occurred_at = occurred[0] if occurred else None
    if follow:
        _priority, draft.follow_up_at, title_rest = min(follow, key=lambda f: f[0])
        draft.follow_up_title = _title(title_rest)
    if draft.wants_follow_up and not draft.follow_up_title:
        draft.follow_up_title = next((t for t in follow_titles if t), "")
    draft.summary = _unmask(_tidy(", ".join(_tidy(s) for s in kept_for_summary if _tidy(s))), restore) \
        or _tidy(original)
    draft.follow_up_title = _unmask(draft.follow_up_title, restore)
    draft.amount = main_amount(original)
    return draft


def _mask(text: str, words: list[str], start: int = 0) -> tuple[str, dict[str, str]]:
    restore: dict[str, str] = {}
    for word in sorted({w for w in words if w and len(w) >= 2}, key=len, reverse=True):
        rx = re.compile(re.escape(word), re.I)
        for m in list(rx.finditer(text))[:3]:
            n = start + len(restore)
            key = "⟦" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 26] * (1 + n // 26) + "⟧"
            restore[key] = m.group(0)
            text = text.replace(m.group(0), key, 1)
    return text, restore


def _unmask(text: str, restore: dict[str, str]) -> str:
    for _ in range(2):  # a key may sit inside another's restored text
        for key, value in restore.items():
            text = text.replace(key, value)
    return text
