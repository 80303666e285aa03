"""Splits a `/crm` command line into a command name, tokens and `key=value` options.

Tokens keep their position in the original text, so a handler can take "everything after
the second word" verbatim: what a user typed as a summary is stored exactly as typed.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from crm.errors import UserError
from crm.words import QUOTES, Token, tokenize  # noqa: F401  (Token, tokenize: part of the grammar's API)

_OPTION = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*|[\u3400-\u9fff]{1,6})=(.*)$", re.S)
# Chinese names of options, so `阶段=谈判 成交日期=下个月底` reads like `stage=… close=…`
OPTION_ALIASES = {"阶段": "stage", "币种": "currency", "货币": "currency", "成交日期": "close", "预计成交": "close",
                  "关闭": "close", "截止": "close", "标题": "title", "名称": "title", "邮箱": "email", "电邮": "email",
                  "电话": "phone", "手机": "phone", "公司": "company", "级别": "tier", "等级": "tier", "负责人": "owner",
                  "标签": "tags", "语言": "language", "新建": "new", "强制": "force", "金额": "amount"}
MAX_COMMAND_LENGTH = 8000


@dataclass
class ParsedCommand:
    name: str
    text: str  # the whole line after the command name, as typed
    tokens: list[Token] = field(default_factory=list)
    # spans of option tokens taken out by ``take_options``: never part of a verbatim remainder
    removed: list[tuple[int, int]] = field(default_factory=list)

    @property
    def args(self) -> list[str]:
        return [t.value for t in self.tokens]

    def rest_after(self, count: int) -> str:
        """The text after the first ``count`` tokens, verbatim (stripped)."""
        if count <= 0:
            start = 0
        elif count > len(self.tokens):
            return ""
        else:
            start = self.tokens[count - 1].end
        pieces, at = [], start
        for r_start, r_end in sorted(self.removed):
            if r_end <= start:
                continue
            pieces.append(self.text[at:max(at, r_start)].strip())
            at = max(at, r_end)
        pieces.append(self.text[at:].strip())
        # only the gaps where options were cut are closed up; the user's own spacing stays
        return " ".join(p for p in pieces if p)

    def take_options(self, allowed: set[str] | frozenset[str], usage: str | None = None) -> dict[str, str]:
        """Remove `key=value` tokens and return them. Unknown keys are an error naming the known ones."""
        options: dict[str, str] = {}
        kept: list[Token] = []
        for tok in self.tokens:
            m = None if tok.quoted else _OPTION.match(tok.value)
            if m and m.group(1)[0] >= "\u3400" and m.group(1) not in OPTION_ALIASES:  # input words
                m = None  # "备注=…" in a summary is text, not an option
            if m:
                key = OPTION_ALIASES.get(m.group(1), m.group(1).lower().replace("-", "_"))
                if key not in allowed:
                    known = ", ".join(sorted(allowed)) or "none"
                    raise UserError("I don't know the option `{option}`. Options here: {known}.", usage,
                                    option=m.group(1), known=known)
                options[key] = _unquote(m.group(2))
                self.removed.append((tok.start, tok.end))
            else:
                kept.append(tok)
        self.tokens = kept
        return options


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] in QUOTES and value[-1] == QUOTES[value[0]]:
        return value[1:-1]
    return value


def normalize(text: str) -> str:
    """NFKC folds full-width letters, digits and punctuation (ａｂｃ１２３＝) into their plain forms."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\x00", "")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def parse(line: str) -> ParsedCommand:
    """Parse what follows `/crm`. A leading `/crm` (or `crm`) is tolerated and dropped."""
    text = normalize(line).strip()
    if len(text) > MAX_COMMAND_LENGTH:
        raise UserError("That command is {length:,} characters long; the limit is {limit:,}. Log long notes in parts.",
                        length=len(text), limit=MAX_COMMAND_LENGTH)
    for prefix in ("/crm", "crm"):
        if text.lower() == prefix or text.lower().startswith(prefix + " "):
            text = text[len(prefix):].strip()
            break
    if not text:
        return ParsedCommand(name="", text="", tokens=[])
    m = re.match(r"\S+", text)
    name = m.group(0).lower() if m else ""
    rest = text[m.end():] if m else ""
    return ParsedCommand(name=name, text=rest, tokens=tokenize(rest))


# ---------------------------------------------------------------- sentences that are no command


def _strip_prefix(text: str) -> str:
    for prefix in ("/crm", "crm"):
        if text.lower() == prefix or text.lower().startswith(prefix + " "):
            return text[len(prefix):].strip()
    return text


def as_note(line: str) -> ParsedCommand:
    """The whole line as the text of a `note` command (staff notes are free text: no tokens needed)."""
    text = _strip_prefix(normalize(line).strip())[:MAX_COMMAND_LENGTH]
    return ParsedCommand(name="note", text=text, tokens=[])


def parse_or_note(line: str) -> ParsedCommand:
    """``parse``, except that a sentence whose first word is no command may hold quotes a command
    could not (“she said 'maybe'”): it is handed over as a note instead of refused."""
    from bot.registry import lookup

    try:
        return parse(line)
    except UserError:
        text = _strip_prefix(normalize(line).strip())
        first = text.split(maxsplit=1)[0].lower() if text.split() else ""
        if lookup(first) is not None or len(text) > MAX_COMMAND_LENGTH:
            raise
        return as_note(line)


_NOTE_WORDS = re.compile(r"^(call|called|calling|met|meet|meeting|lunch|dinner|coffee|emailed|email|spoke|talked|"
                         r"chatted|texted|visited|demo|rang|phoned|pinged|had|sent|got|follow|fyi|heard)$", re.I)


def looks_like_command_typo(parsed: ParsedCommand) -> bool:
    """``fnd globex`` is a misspelt command; ``Called Wang Wei at Globex yesterday …`` is a note."""
    from crm.understanding.notes import is_small_talk

    if _NOTE_WORDS.match(parsed.name) or re.search(r"[\u3400-\u9fff]", parsed.name):
        return False
    if is_small_talk(f"{parsed.name} {parsed.text}"):
        return False  # "thanks", "ok" get the short help, not "did you mean tasks?"
    from crm.understanding import lexicon

    if any(lexicon.count(parsed.name, words) for words in lexicon.KIND_WORDS.values()):
        return False  # "texted Li Na" is a note, however close "texted" is to "next"
    return len(parsed.tokens) <= 3 and len(parsed.text) <= 60


def starts_a_sentence(parsed: ParsedCommand) -> bool:
    """“next Tuesday follow up with Globex …” starts with a command word but is a note."""
    return parsed.name == "next" and re.match(r"\s*(mon|tue|wed|thu|fri|sat|sun|week|month|time|year)",
                                              parsed.text, re.I) is not None
