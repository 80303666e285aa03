"""Word lists, English and Chinese, that carry meaning for notes and customer messages.

Keep entries lower-case. English entries are matched on word boundaries (a trailing ``*`` means
"any ending": ``call*`` matches called, calling); Chinese entries are matched as substrings.

Each list is one regex (``_pattern``, case-blind: the definition of a match). ``Scanner`` finds several
lists' matches in one casefolded text at once: pyahocorasick (C) finds where any of their words' anchors
occur, and only there is a list's faster regex for casefolded text (``_folded_pattern``) tried. Hand-written
around the libraries because a side-by-side run showed it pays: ``bench/bench_nlu.py`` prints the message
reader against the one before (issue 17); tests/test_message_intent.py checks it finds what ``_pattern`` finds.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

import ahocorasick

# ---------------------------------------------------------------- staff notes: what kind of contact

KIND_WORDS: dict[str, list[str]] = {
    "call": ["call*", "rang", "ring*", "phone*", "phoned", "dial*", "tel", "cold call*", "voicemail", "vm",
             "spoke on the phone", "on the phone", "zoom call", "teams call", "conf call", "concall", "calld",
             "spoke with", "spoke to", "zoom", "zoomed", "video call", "facetime", "phone call", "视频通话",
             "cal", "callled", "caled",
             "电话", "打电话", "通话", "致电", "来电", "回电", "电联", "打了个电话", "通了电话", "语音", "电话会"],
    "meeting": ["met", "meet*", "meeting*", "mtg", "mtgs", "lunch*", "dinner*", "breakfast", "coffee", "visit*",
                "demo*", "workshop", "onsite", "on-site", "in person", "in-person", "sat down", "drinks",
                "catch-up", "catchup", "presentation", "presented", "saw", "stopped by", "toured", "kickoff",
                "meting", "meeeting", "metting",
                "开会", "会议", "见面", "见了", "拜访", "面谈", "碰面", "吃饭", "午餐", "午饭", "晚餐", "晚饭", "早餐",
                "喝咖啡", "喝茶", "演示", "上门", "面聊", "开了会", "约见", "座谈", "聚餐", "参观", "短会", "视频会",
                "来访", "会面", "开了个会", "展会", "trade fair", "conference", "expo", "event", "office visit"],
    "email": ["email*", "e-mail*", "mail*", "emial*", "emailed", "e-mailed", "inbox", "wrote to", "replied",
              "sent over", "newsletter",
              "邮件", "邮箱", "发邮件", "电邮", "回邮件", "发了邮件", "邮件回复"],
    "chat": ["chat*", "texted", "text*", "sms", "whatsapp*", "wechat*", "messag*", "msg*", "dm", "dm'd", "dmed",
             "slack*", "telegram", "imessage", "line", "skype", "pinged", "ping*",
             "微信", "聊天", "短信", "聊了一下", "聊了聊", "聊过", "小聊", "发消息", "留言", "钉钉", "企业微信", "私信", "发信息", "qq"],
}
# when several kinds are named, the stronger evidence wins in this order (a call *about* an email
# is a call; "met for lunch and emailed the deck" is a meeting)
KIND_ORDER = ["meeting", "call", "chat", "email"]

# ---------------------------------------------------------------- staff notes: follow-up cues

FOLLOW_UP_CUES = [
    "follow up*", "follow-up*", "followup*", "f/u", "fu", "fup", "folow up*", "follwo up", "remind*", "reminder",
    "next step*", "need to", "needs to", "have to", "must", "will", "i'll", "we'll", "gonna", "going to", "should",
    "todo", "to do", "to-do", "plan to", "planning to", "circle back", "check in", "check back", "touch base",
    "ping", "chase", "send", "prepare", "prep", "schedule", "book", "set up", "arrange", "get back", "call back",
    "callback", "revert", "by", "before", "due", "deadline", "asap", "next",
    "跟进", "回访", "提醒", "下一步", "需要", "要", "得", "准备", "安排", "约", "再联系", "再跟", "回复", "发送", "发给",
    "之前", "以前", "前", "截止", "记得", "待办", "再打", "再约", "落实", "确认",
]

# ---------------------------------------------------------------- not a note: small talk

SMALL_TALK = {
    "hi", "hello", "hey", "yo", "hiya", "thanks", "thank you", "thx", "ty", "tks", "ok", "okay", "k", "kk",
    "cool", "great", "nice", "sure", "yes", "no", "yep", "nope", "got it", "good morning", "good night",
    "morning", "gm", "lol", "bye", "cheers", "np", "no problem", "sounds good", "sorry", "hmm", "test", "ping",
    "你好", "您好", "嗨", "哈喽", "谢谢", "多谢", "感谢", "好的", "好", "嗯", "收到", "明白", "可以", "没问题",
    "早", "早上好", "晚安", "再见", "拜拜", "哈哈", "ok了", "测试", "在吗", "在么", "行", "对", "是的", "不是",
}

# ---------------------------------------------------------------- customer messages

INTENT_WORDS: dict[str, list[str]] = {
    "question": ["how", "what", "when", "where", "which", "why", "who", "can i", "can you", "could you", "do you",
                 "does", "is there", "is it", "are there", "are you", "any way", "wondering", "question", "info",
                 "information", "explain", "possible", "support", "compatible", "?", "？",
                 "怎么", "如何", "什么", "哪里", "哪个", "哪些", "多少", "几", "吗", "么", "呢", "是否", "能否",
                 "可以吗", "请问", "想问", "问一下", "咨询", "支持", "有没有", "是不是", "能不能"],
    "complaint": ["broken", "not working", "doesn't work", "doesnt work", "does not work", "don't work", "stopped",
                  "error", "bug", "crash*", "fail*", "issue", "problem", "wrong", "late", "delay*", "missing",
                  "damaged", "defective", "terrible", "awful", "horrible", "worst", "disappointed", "unacceptable",
                  "angry", "frustrat*", "ridiculous", "still waiting", "no one", "nobody", "refund", "complain*",
                  "charged twice", "overcharged", "slow", "down", "can't log in", "cannot", "can't", "cant",
                  "won't", "not received", "never arrived", "scam", "rude", "fix", "again", "useless",
                  "坏了", "不能用", "用不了", "打不开", "故障", "错误", "报错", "问题", "失败", "崩溃", "卡", "慢",
                  "延迟", "迟迟", "还没", "没收到", "没到", "破损", "损坏", "缺", "少了", "差", "太差", "失望",
                  "投诉", "生气", "气死", "离谱", "垃圾", "坑", "骗", "退款", "扣了两次", "多扣", "重复扣", "没人",
                  "不回", "无法", "登不上", "登录不了", "不行", "又", "还是不", "搞什么", "什么情况", "怎么回事"],
    "purchase": ["buy", "purchase*", "order*", "quote", "quotation", "pricing", "price*", "how much", "cost*",
                 "upgrade*", "add", "more seats", "seats", "licenses", "licences", "license", "bulk", "invoice",
                 "proforma", "subscribe", "subscription", "plan", "enterprise", "trial", "demo", "interested",
                 "interest", "want to get", "would like to get", "need", "deal", "discount", "budget", "sign up",
                 "contract", "renew*", "expand", "extra", "additional", "pro plan", "annual",
                 "买", "购买", "采购", "下单", "订购", "订", "报价", "价格", "多少钱", "费用", "升级", "加购", "增加",
                 "席位", "账号", "许可", "批量", "发票", "合同", "开通", "试用", "演示", "感兴趣", "想要", "需要",
                 "优惠", "折扣", "预算", "续费", "续约", "扩容", "年付", "企业版", "专业版", "套餐"],
    "cancellation": ["cancel*", "unsubscribe", "terminate", "termination", "stop my", "close my account",
                     "close the account", "delete my account", "end my", "end our", "not renew*", "won't renew",
                     "wont renew", "don't renew", "leave", "leaving", "switch*", "moving to", "move to",
                     "competitor", "alternative", "downgrade*", "quit", "churn", "no longer need", "last month",
                     "opt out", "refund and cancel", "goodbye", "done with", "cheaper elsewhere", "pause",
                     "取消", "退订", "注销", "停用", "不续", "不再续", "不续费", "不续约", "解约", "终止", "退出",
                     "换成", "换到", "换别家", "换一家", "转到", "竞品", "别家", "其他家", "降级", "不用了",
                     "不想用", "不再使用", "关闭账户", "关掉", "暂停", "到期就", "算了"],
    "thanks": ["thanks", "thank you", "thank u", "thx", "ty", "tysm", "appreciate*", "grateful", "cheers",
               "great job", "awesome", "perfect", "you're the best", "you guys rock", "solved", "works now",
               "all good", "much obliged", "kudos", "helpful", "lifesaver", "love it", "👍", "🙏", "❤",
               "谢谢", "多谢", "感谢", "谢了", "辛苦了", "太好了", "好评", "给力", "赞", "解决了", "可以了", "好了",
               "搞定", "棒", "满意", "帮大忙", "麻烦你们了"],
}

# broader wording per intent, from support and sales inboxes: typical phrasings more than single words
INTENT_WORDS["question"] += [
    "is there", "can we", "do we", "how to", "how long", "how many", "how often", "does it", "any chance",
    "curious", "wondering if", "could i", "would it", "what if", "what happens", "is it possible", "which one",
    "请教", "怎样", "怎么样", "有吗", "多久", "几点", "哪天", "在哪", "能否", "可否", "是否可以", "会怎样", "包含"]
INTENT_WORDS["complaint"] += [
    "annoy*", "flicker*", "stuck", "never", "nothing", "empty", "died", "dead", "wet", "suspended", "on hold",
    "without notice", "not ok", "unusable", "keeps", "keep getting", "still", "hasn't", "didn't", "doesn't",
    "isn't working", "no response", "no reply", "waste", "worse", "broke*", "leak*", "not happy", "unhappy",
    "disappoint*", "poor", "mess", "messed up", "lost", "glitch*", "freez*", "hang*", "timeout", "time out",
    "闪", "湿", "封", "等了", "一直", "根本", "结果没有", "对不上", "烦", "收不到", "没法", "还在", "没通知", "过分",
    "太慢", "浪费", "差劲", "坑人", "漏", "不对", "不准", "失灵", "掉线", "死机", "黑屏", "丢了", "拆开", "没反应",
    "不满意", "无语", "糟糕", "难用", "白等", "催了"]
INTENT_WORDS["purchase"] += [
    "pay for", "another", "more", "add-on", "addon", "package", "tier", "units", "put us down", "move forward",
    "go ahead", "ready to", "sign", "proceed", "interested in", "we'd take", "we would take", "get the",
    "spare parts", "quote us", "send pricing", "what would", "cost us", "for the whole team", "per user",
    "报个价", "要多少", "再要", "再买", "再开", "再订", "加购", "推进", "合同发", "登记", "付款", "采购", "买",
    "配置", "备件", "扩张", "推广", "全团队", "金牌", "高级版", "插件"]
INTENT_WORDS["cancellation"] += [
    "not be extending", "not continue", "won't continue", "say goodbye", "remove us", "different supplier",
    "another vendor", "another provider", "going back to", "dropped", "drop", "shutting down", "winding down",
    "reduce us", "stop the subscription", "stop charging", "no longer", "had enough", "auto-renew", "auto renew",
    "out of the contract", "not interested", "consolidat*", "migrat*", "replace you", "replacing you",
    "不会再续", "删除", "移除", "走了", "要走", "别的供应商", "回去用", "砍掉", "关停", "收缩", "减到", "停止",
    "受够", "再见", "不感兴趣", "自动续费", "不再", "迁移", "替换", "精简", "不合作", "合同到期"]
INTENT_WORDS["thanks"] += [
    "saved my day", "you rock", "well done", "excellent", "professional", "glad", "happy with", "5 stars",
    "five stars", "appreciated", "sorted", "fantastic", "brilliant", "amazing", "the best",
    "救了", "完好", "厉害", "五星", "感激", "喜欢", "专业", "一如既往", "点赞", "干得好", "漂亮"]
# a second round, from reading the hand-written check set's misses (kept generic: families of wording)
INTENT_WORDS["cancellation"] += ["terminat*", "not renew*", "don't renew", "do not renew", "signed with another",
                                 "moving on", "can't justify", "delete my account", "cancel my", "另一家", "关闭",
                                 "不要再续", "别再续", "停止续", "不再续", "不续订", "不打算继续", "终止合作", "不划算",
                                 "降到", "不想续"]
INTENT_WORDS["complaint"] += ["sort this out", "sort it out", "not the service", "we pay for", "waited", "charged",
                              "faulty", "logged me out", "deleted", "nothing came", "强制退出", "赶紧修", "请处理",
                              "被扣", "扣了", "没人回复", "删了", "也是坏的", "太差", "签收了但"]
INTENT_WORDS["thanks"] += ["works again", "working again", "you're a star", "恢复正常", "帮忙", "给力", "讲得很清楚"]
INTENT_WORDS["question"] += ["do u", "do you have", "多大", "多长", "能改", "可以改", "能不能改", "有没有"]
INTENT_WORDS["purchase"] += ["proceed with buying", "how do we buy", "怎么购买", "也要", "我们也要", "要买", "想买", "购买"]

INTENT_WORDS["other"] = [
    "attached", "attachment", "forward*", "address", "phone number", "holiday", "vacation", "out of office",
    "on leave", "tomorrow", "call me", "driving", "meeting", "later", "noted", "ok", "okay", "fine", "hello",
    "hi", "good morning", "good evening", "happy new year", "merry christmas", "colleague", "manager", "internally",
    "screenshot", "document", "form", "test*", "see you", "talk soon",
    "附件", "转给", "地址", "手机号", "休假", "开会", "开车", "晚点", "已阅", "知道了", "好的", "你好", "在吗", "早上好",
    "晚上好", "新年快乐", "圣诞快乐", "同事", "领导", "内部", "截图", "文件", "表格", "测试", "回头", "放假"]

NEGATIVE_WORDS = ["broken", "not working", "doesn't work", "terrible", "awful", "horrible", "worst", "bad",
                  "disappointed", "disappointing", "unacceptable", "angry", "frustrat*", "ridiculous", "annoy*",
                  "useless", "upset", "furious", "hate", "sucks", "poor", "slow", "wrong", "error", "fail*",
                  "crash*", "damaged", "late", "missing", "scam", "rude", "problem", "issue", "cancel*", "refund",
                  "never", "still waiting", "not happy", "unhappy", "wtf", "😡", "😠", "🤬", "😤", "😞", "😢", "👎",
                  "坏了", "故障", "错误", "差", "太差", "失望", "投诉", "生气", "气死", "离谱", "垃圾", "坑", "骗",
                  "不满", "烦", "无语", "糟糕", "难用", "不能用", "用不了", "慢", "退款", "取消", "问题", "没收到",
                  "不行", "郁闷", "恶心", "过分"]
POSITIVE_WORDS = ["thanks", "thank you", "thx", "great", "awesome", "perfect", "love*", "excellent", "amazing",
                  "happy", "glad", "appreciate*", "wonderful", "fantastic", "helpful", "good", "nice", "best",
                  "excited", "interested", "cool", "brilliant", "smooth", "pleased", "😊", "😀", "😄", "🙂", "👍",
                  "🙏", "❤", "🎉", "😍", "👏",
                  "谢谢", "感谢", "多谢", "太好了", "好用", "满意", "喜欢", "棒", "赞", "给力", "开心", "优秀", "不错",
                  "很好", "感兴趣", "期待", "顺利", "完美", "靠谱", "辛苦了"]
NEGATORS = ["not", "no", "never", "don't", "dont", "isn't", "isnt", "wasn't", "aren't", "without",
            "不", "没", "别", "未", "无"]

URGENT_WORDS = ["urgent*", "asap", "a.s.a.p", "immediately", "right now", "right away", "emergency", "critical",
                "now!", "today", "tonight", "down", "outage", "blocked", "blocking", "can't work", "production",
                "deadline", "as soon as possible", "quickly", "hurry", "still waiting", "🚨", "‼", "!!!",
                "紧急", "急", "马上", "立刻", "立即", "尽快", "赶紧", "今天", "今晚", "现在", "火速", "十万火急",
                "宕机", "停摆", "影响生产", "等不了", "急需", "速度", "快点", "一直在等"]

# products and plans customers name; the inbox shows which ones a message mentions
PRODUCT_WORDS = {
    "seats": ["seat*", "user licen*", "席位", "账号", "用户数"],
    "license": ["licen*", "许可", "授权"],
    "enterprise plan": ["enterprise", "企业版"],
    "pro plan": ["pro plan", "pro version", "pro tier", "专业版"],
    "basic plan": ["basic plan", "starter plan", "基础版", "入门版"],
    "subscription": ["subscription*", "plan", "订阅", "套餐", "会员"],
    "api": ["api", "接口"],
    "mobile app": ["mobile app", "ios app", "android app", "the app", "app", "手机端", "客户端", "应用"],
    "integration": ["integration*", "slack integration", "集成", "对接"],
    "hardware": ["device*", "printer*", "scanner*", "router*", "terminal*", "设备", "打印机", "扫描仪", "路由器",
                 "终端"],
    "support plan": ["support plan", "premium support", "sla", "售后", "维保", "技术支持"],
    "training": ["training", "onboarding", "培训"],
    "storage": ["storage", "存储", "空间"],
    "invoice": ["invoice*", "发票"],
}


@lru_cache(maxsize=None)
def _pattern(words: tuple[str, ...]) -> re.Pattern:
    """One alternation for a word list: English words on word edges, Chinese and symbols anywhere."""
    parts = []
    for w in sorted(words, key=lambda w: len(w.rstrip("*")), reverse=True):
        star = w.endswith("*")
        plain = w.rstrip("*")
        body = re.escape(plain).replace(r"\ ", r"\s+")
        if star:
            body += r"[\w'-]*"
        if re.match(r"[a-z0-9]", plain, re.I):
            body = r"(?<![a-z0-9_])" + body
        if re.search(r"[a-z0-9]$", plain, re.I) and not star:
            body += r"(?![a-z0-9_])"
        parts.append(body)
    return re.compile("|".join(parts), re.I)


@lru_cache(maxsize=None)
def _folded_pattern(words: tuple[str, ...]) -> re.Pattern:
    """``_pattern`` for text already casefolded (``intent.normalize``), without re.I: the same matches, ~6x faster.

    Why it is faster: without IGNORECASE, and with the word-edge lookbehind moved after each word's first
    character (``(?<![a-z0-9_][\s\S])`` there says the same as ``(?<![a-z0-9_])`` before it), every branch
    starts with a literal, so the regex engine skips straight to positions holding one of the first
    characters instead of trying every branch everywhere (issue 17: this was most of reading a message).
    Why it is the same: the lexicon's words are lowercase ASCII or uncased (Chinese), and casefolded text
    holds no character that IGNORECASE would match with an ASCII letter, digit or _, except those in
    ``CASE_TWINS`` (checked by ``Scanner``). tests/test_message_intent.py compares both on the corpus.
    Its branches are grouped by their first character, in their order (``c(?:rest1|rest2)``): at a place only
    the group of the character there can match, and within it the branches keep their order, so the same
    branch wins; the engine tests one literal per group instead of one per word (~25% faster, issue 17).
    """
    groups: dict[str, list[str]] = {}
    for w in sorted(words, key=lambda w: len(w.rstrip("*")), reverse=True):
        star = w.endswith("*")
        plain = w.rstrip("*")
        body = re.escape(plain[1:]).replace(r"\ ", r"\s+")
        if star:
            body += r"[\w'-]*"
        if re.search(r"[a-z0-9]$", plain, re.I) and not star:
            body += r"(?![a-z0-9_])"
        groups.setdefault(plain[0], []).append(body)
    parts = []
    for first, bodies in groups.items():
        head = re.escape(first)
        if re.match(r"[a-z0-9]", first, re.I):  # the word-edge test, the same for every word of the group
            head += r"(?<![a-z0-9_][\s\S])"
        parts.append(head + (bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")"))
    return re.compile("|".join(parts))


# the only characters besides ASCII that IGNORECASE matches with [a-z0-9_]: İ ı ſ K (Kelvin)
CASE_TWINS = re.compile("[\u0130\u0131\u017f\u212a]")


def _anchor(word: str) -> str:
    """Text every match of ``word`` contains as it is, at the match's start: the word up to its first space
    (spaces match any run of whitespace) or its ``*``. Only for the folded patterns (no re.I)."""
    return word.rstrip("*").split(" ", 1)[0]


_COMPILED: dict[int, tuple] = {}  # id(word list) → (the list, its length, its pattern)


def _compiled(words) -> re.Pattern:
    """The pattern of a word list, found by the list's identity: ``tuple(words)`` and hashing it for the
    cache above cost more than the search itself for the big lists (issue 17). The entry holds the list
    (its id cannot be reused meanwhile) and its length (the lists grow only at import, by ``+=``)."""
    entry = _COMPILED.get(id(words))
    if entry is None or entry[0] is not words or entry[1] != len(words):
        entry = (words, len(words), _pattern(tuple(words)))
        if len(_COMPILED) < 1024:  # the lexicon's lists; a caller building lists on the fly is not cached
            _COMPILED[id(words)] = entry
    return entry[2]


class Scanner:
    """Where the matches of each of several word lists start in one casefolded text, found together.

    ``starts(text)[k]`` holds ``[start for start, _, _ in find_all(text, lists[k])]``. Reading a
    customer's message needs 23 lists (intents, feelings, urgency, products): one search per list was a
    third of reading it (issue 17). Here one Aho-Corasick pass (pyahocorasick, C) finds every place where
    any list's anchor (``_anchor``) occurs; a match of a word can only start at one of its anchors, so the
    list's own folded pattern is tried there only (``match`` at those places, left to right, skipping
    places inside the previous match: what ``finditer`` does, without trying the places that cannot
    match). Text holding a casing twin (``CASE_TWINS``) takes the case-blind patterns (``_pattern``).
    The lists must be complete when it is built (the lexicon's lists grow only at import).
    """

    def __init__(self, lists):
        self.lists = [list(words) for words in lists]
        self._match = [_folded_pattern(tuple(words)).match for words in self.lists]
        self._case_blind = [_pattern(tuple(words)) for words in self.lists]
        owners: dict[str, list[int]] = {}
        for k, words in enumerate(self.lists):
            for word in words:
                holders = owners.setdefault(_anchor(word), [])
                if k not in holders:
                    holders.append(k)
        self._automaton = ahocorasick.Automaton()
        for anchor, holders in owners.items():
            self._automaton.add_word(anchor, (len(anchor) - 1, tuple(holders)))
        self._automaton.make_automaton()

    def starts(self, text: str) -> list[Sequence[int]]:
        if CASE_TWINS.search(text):
            return [[m.start() for m in pattern.finditer(text)] for pattern in self._case_blind]
        places: defaultdict[int, list[int]] = defaultdict(list)  # list → where its anchors start, as found
        for end, (back, holders) in self._automaton.iter(text):
            for k in holders:
                places[k].append(end - back)
        found: list[Sequence[int]] = [()] * len(self._match)  # most lists match nothing: one shared empty
        for k, candidates in places.items():
            candidates.sort()
            match, mine, free, tried = self._match[k], [], 0, -1
            for start in candidates:
                if start >= free and start != tried:  # two anchors of a list at one place: one try
                    tried = start
                    m = match(text, start)
                    if m is not None:
                        mine.append(start)
                        free = m.end()
            if mine:
                found[k] = mine
        return found


def find_all(text: str, words) -> list[tuple[int, int, str]]:
    """Every non-overlapping (start, end, matched text) of ``words`` in ``text``, longest first at a place."""
    return [(m.start(), m.end(), m.group(0)) for m in _compiled(words).finditer(text)]


def count(text: str, words) -> int:
    return sum(1 for _ in _compiled(words).finditer(text))
