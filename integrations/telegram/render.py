"""A Reply as Telegram HTML: escaped, and split into messages of at most 4096 characters.

Telegram's HTML mode understands only a few tags; every piece of user or CRM text goes
through ``html.escape`` so a customer name like ``<Acme & Co>`` cannot break the markup.
Messages split on line boundaries; a single overlong line is cut without breaking an
entity (``&amp;``) or a tag.
"""
from __future__ import annotations

import html

from bot.replies import Button, Reply

LIMIT = 4096


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _e(text) -> str:
    return html.escape(str(text), quote=False)


def _bold_line(text) -> str:
    """Text inside <b>…</b> on one line: messages split at newlines, and a tag must not span one."""
    return _e(" ".join(str(text).split()))


def reply_lines(reply: Reply) -> list[str]:
    """The reply as HTML lines (each line is well-formed on its own)."""
    reply = reply.with_names()  # mentions as "@Name"
    title = _e(reply.text) if "\n" in reply.text else f"<b>{_e(reply.text)}</b>"
    lines = [("⚠️ " if reply.error else "") + title]
    lines += [f"<b>{_bold_line(k)}:</b> {_e(v)}" for k, v in reply.fields]
    lines += [f"• {_e(i.text)}" for i in reply.items]
    for section in reply.sections:
        lines += ["", f"<b>{_bold_line(section.title)}</b>"]
        if section.text:
            lines.append(_e(section.text))
        lines += [f"<b>{_bold_line(k)}:</b> {_e(v)}" for k, v in section.fields]
        lines += [f"• {_e(i.text)}" for i in section.items]
    if reply.usage:
        lines.append(f"Usage: <code>/crm {_e(reply.usage)}</code>")
    return lines


def reply_buttons(reply: Reply) -> list[Button]:
    """Every button of the reply, item buttons first (Telegram shows them as keyboard rows)."""
    buttons = [b for i in reply.items for b in i.buttons]
    buttons += [b for s in reply.sections for i in s.items for b in i.buttons]
    return buttons + list(reply.buttons)


def render_html(reply: Reply, limit: int = LIMIT) -> list[str]:
    return split_lines(reply_lines(reply), limit)


def split_lines(lines: list[str], limit: int = LIMIT) -> list[str]:
    """Packs HTML lines into messages of at most ``limit`` characters, breaking between lines."""
    chunks: list[str] = []
    current = ""
    # no tag spans a newline (see reply_lines), so multi-line values split safely into lines
    for piece in (p for line in lines for sub in line.split("\n") for p in _cut_line(sub, limit)):
        candidate = piece if not current else current + "\n" + piece
        if units(candidate) <= limit:
            current = candidate
        else:
            if current.strip():
                chunks.append(current)
            current = piece
    if current.strip():
        chunks.append(current)
    return chunks or [""]


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Plain text (a staff reply) escaped and split for Telegram."""
    return split_lines([_e(line) for line in text.split("\n")], limit)


def _cut_line(line: str, limit: int) -> list[str]:
    if units(line) <= limit:
        return [line]
    # an overlong line loses its formatting: cut the plain text, then escape each piece
    plain = html.unescape(_strip_tags(line))
    pieces, current, size = [], [], 0
    for ch in plain:
        escaped = _e(ch)  # a character and its entity stay together
        if size + units(escaped) > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(escaped)
        size += units(escaped)
    if current:
        pieces.append("".join(current))
    return pieces


def _strip_tags(line: str) -> str:
    out, inside = [], False
    for ch in line:
        if ch == "<":
            inside = True
        elif ch == ">" and inside:
            inside = False
        elif not inside:
            out.append(ch)
    return "".join(out)
