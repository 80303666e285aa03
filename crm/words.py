"""Splitting typed text into words: quotes (also “ ” 「 」) keep a phrase together, ``key="a b"`` stays one word.

The `/crm` grammar (bot/parser.py) and stored campaign segments (crm/campaigns/segments.py) split the same way.
Each token keeps its position in the original text, so a caller can take the rest of a line verbatim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from crm.errors import UserError

QUOTES = {'"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "「": "」", "『": "』", "«": "»"}
_SPACE = re.compile(r"[\s\u3000]")


@dataclass(frozen=True)
class Token:
    value: str
    start: int
    end: int
    quoted: bool = False

    @property
    def is_id(self) -> bool:
        return not self.quoted and len(self.value) > 1 and self.value[0] == "#" and self.value[1:].isdigit()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if _SPACE.match(text[i]):
            i += 1
            continue
        start = i
        if text[i] in QUOTES:
            close = QUOTES[text[i]]
            j = text.find(close, i + 1)
            if j == -1:
                raise UserError("A quote opened with {quote} is never closed. Close it, e.g. \"Globex Corporation\".",
                                quote=text[i])
            tokens.append(Token(text[i + 1:j], start, j + 1, quoted=True))
            i = j + 1
            continue
        # a bare word; key="quoted value" stays one token
        while i < n and not _SPACE.match(text[i]):
            if text[i] == "=" and i + 1 < n and text[i + 1] in QUOTES:
                close = QUOTES[text[i + 1]]
                j = text.find(close, i + 2)
                if j == -1:
                    raise UserError("A quoted option value is never closed, e.g. company=\"Globex Corp\".")
                i = j + 1
                break
            i += 1
        tokens.append(Token(text[start:i], start, i))
    return tokens
