"""Text formatting between the platforms: Slack mrkdwn → Telegram HTML, and Telegram entities → Slack.

Staff answer customers in a Slack thread, so what they type arrives in Slack's wire format
(https://api.slack.com/reference/surfaces/formatting): ``*bold*``, ``_italic_``, ``~strike~``,
`` `code` ``, ```` ```pre``` ````, ``> quote`` (escaped as ``&gt;``), ``&amp; &lt; &gt;``, links
``<https://x|label>``, mentions ``<@U…>``, ``<#C…|name>``, special mentions ``<!here>`` and
``<!subteam^S…|@team>``, dates ``<!date^…|fallback>``, and emoji shortcodes ``:tada:``.
Customers get Telegram's HTML subset (https://core.telegram.org/bots/api#html-style) with a
person's name for a mention, the emoji itself (the ``emoji`` package, Slack's aliases and skin
tones), the URL kept behind a label, and special mentions dropped: they mean nothing to a
customer.

The other way, a customer's text is literal in Slack: it is drawn as a ``rich_text`` block,
whose text elements Slack never parses, so nothing a customer types can ping (``<!channel>``,
``@here``), link or format; Telegram's own entities (bold, italic, links …) become rich-text
styles. The notification text next to it is escaped mrkdwn.
"""
from __future__ import annotations

import html
import re
from typing import Callable
from urllib.parse import urlsplit

import emoji

NameOf = Callable[[str], "str | None"]

LINK_SCHEMES = ("http", "https", "mailto", "tel", "tg")
_HOLE = "\x00{}\x00"  # placeholders for pieces already rendered (code, links); NUL never comes from Slack
_HOLE_RE = re.compile("\x00(\\d+)\x00")
_ANGLE = re.compile(r"<([^<>\n]*)>")
_FENCE = re.compile(r"```(.*?)```", re.S)
_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
# Slack's rule: a marker opens after the start, whitespace or punctuation and before a non-space,
# and closes after a non-space and before the end, whitespace or punctuation; never across lines
_STYLES = [(re.compile(rf"(?<![\w{m}]){m}(?=[^\s{m}])([^\n{m}]*?[^\s{m}]|[^\s{m}]){m}(?![\w{m}])"), tag)
           for m, tag in ((r"\*", "b"), ("_", "i"), ("~", "s"))]
_SHORTCODE = re.compile(r":([a-z0-9_+\-']+):(?::skin-tone-([2-6]):)?")
_SKIN = {"2": "\U0001F3FB", "3": "\U0001F3FC", "4": "\U0001F3FD", "5": "\U0001F3FE", "6": "\U0001F3FF"}
_SLACK_ONLY = {"simple_smile": "🙂", "slightly_smiling_face": "🙂", "white_frowning_face": "☹️",
               "squirrel": "🐿️", "thumbsup_all": "👍"}  # Slack names the emoji package does not know


# ---------------------------------------------------------------- Slack → Telegram


def mentioned_users(text: str) -> list[str]:
    """The Slack user ids ``<@U…>`` in ``text``, to look their names up before converting."""
    return list(dict.fromkeys(m.group(1).split("|")[0][1:] for m in _ANGLE.finditer(text or "")
                              if m.group(1).startswith("@")))


def emojize(text: str) -> str:
    """``:tada:`` → 🎉 (with Slack's ``::skin-tone-N::`` suffix); unknown (custom) names stay as typed."""
    def one(match: re.Match) -> str:
        name, tone = match.group(1), match.group(2)
        found = _SLACK_ONLY.get(name) or emoji.emojize(f":{name}:", language="alias")
        if found == f":{name}:":
            return match.group(0)
        if tone:
            found = found.replace("\ufe0f", "") + _SKIN[tone]
        return found

    return _SHORTCODE.sub(one, text)


def _safe_url(url: str) -> str | None:
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in LINK_SCHEMES else None


class _Renderer:
    """One conversion; ``html`` False gives readable plain text (what is stored and shown in the CRM)."""

    def __init__(self, name_of: NameOf, as_html: bool):
        self.name_of = name_of
        self.as_html = as_html
        self.holes: list[str] = []

    def hole(self, rendered: str) -> str:
        self.holes.append(rendered)
        return _HOLE.format(len(self.holes) - 1)

    def esc(self, text: str) -> str:
        return html.escape(text, quote=False) if self.as_html else text

    def angle(self, match: re.Match) -> str:
        inner = html.unescape(match.group(1))
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            name = self.name_of(target[1:]) or label or "a colleague"
            return self.hole(self.esc(name))
        if target.startswith("#"):  # an internal channel: its name when Slack gave it, never its id
            return self.hole(self.esc("#" + label if label else "our team's channel"))
        if target.startswith("!"):
            if target.startswith("!subteam^"):
                return self.hole(self.esc(label or "our team"))
            if target.startswith("!date^"):
                return self.hole(self.esc(label or ""))
            return "\x01"  # <!here>, <!channel>, <!everyone>: nothing to a customer (removed below)
        url = _safe_url(target)
        shown = label or (target[len("mailto:"):] if target.startswith("mailto:") else target)
        if url is None:
            return self.hole(self.esc(shown))
        if not self.as_html:
            return self.hole(shown if not label or label == target else f"{label} ({target})")
        if not label:
            return self.hole(html.escape(shown, quote=False))
        return self.hole(f'<a href="{html.escape(url, quote=True)}">{html.escape(label, quote=False)}</a>')

    def inline(self, text: str) -> str:
        """One stretch outside code: links and mentions, escaping, bold/italic/strike, emoji."""
        text = _ANGLE.sub(self.angle, text)
        text = self.esc(html.unescape(text))
        for pattern, tag in _STYLES:
            text = pattern.sub((lambda m, t=tag: f"<{t}>{m.group(1)}</{t}>") if self.as_html else r"\1", text)
        return emojize(text)

    def fill(self, text: str) -> str:
        while _HOLE_RE.search(text):
            text = _HOLE_RE.sub(lambda m: self.holes[int(m.group(1))], text)
        return text

    def render(self, text: str) -> str:
        text = (text or "").replace("\x00", "").replace("\x01", "")
        # code is verbatim: taken out before anything else looks at the text
        text = _FENCE.sub(lambda m: self.hole(
            f"<pre>{self.esc(html.unescape(m.group(1).strip(chr(10))))}</pre>" if self.as_html
            else html.unescape(m.group(1).strip("\n"))), text)
        text = _INLINE_CODE.sub(lambda m: self.hole(
            f"<code>{self.esc(html.unescape(m.group(1)))}</code>" if self.as_html else html.unescape(m.group(1))),
            text)
        out: list[str] = []
        quote: list[str] = []

        def end_quote():
            if quote:
                body = "\n".join(quote)
                out.append(f"<blockquote>{body}</blockquote>" if self.as_html else "\n".join(f"> {q}" for q in quote))
                quote.clear()

        for line in text.split("\n"):
            quoted = re.match(r"^(?:&gt;|>)\s?(.*)$", line)
            if quoted:
                quote.append(self.inline(quoted.group(1)))
                continue
            end_quote()
            bullet = re.match(r"^(\s*)[-*•◦▪]\s+(.*)$", line)
            if bullet:
                line = f"{bullet.group(1)}• {bullet.group(2)}"
            out.append(self.inline(line))
        end_quote()
        result = re.sub("\x01[ \t]?", "", "\n".join(out))
        return "\n".join(line.rstrip() for line in self.fill(result).split("\n")).strip()


def slack_to_telegram_html(text: str, name_of: NameOf = lambda _uid: None) -> str:
    """A staff member's Slack message as Telegram HTML (parse_mode=HTML)."""
    return _Renderer(name_of, as_html=True).render(text)


def slack_to_plain(text: str, name_of: NameOf = lambda _uid: None) -> str:
    """The same message as readable plain text: what the CRM stores and shows."""
    return _Renderer(name_of, as_html=False).render(text)


def html_to_plain(text: str) -> str:
    """Telegram HTML back to its text (a caption or message that must go without markup)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text or ""))


# ---------------------------------------------------------------- Telegram → Slack


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _cut(encoded: bytes, start: int, end: int) -> str:
    return encoded[start * 2:end * 2].decode("utf-16-le", errors="replace")


def telegram_spans(text: str, entities) -> list[tuple[str, dict]]:
    """``text`` cut at entity boundaries: (piece, {"styles": set, "url": str|None, "pre": bool, "quote": bool}).

    ``entities`` are PTB ``MessageEntity`` objects or the Bot API's dicts; offsets count UTF-16
    code units, as Telegram does."""
    encoded = _utf16(text or "")
    total = len(encoded) // 2
    marks = []
    for e in entities or ():
        get = (lambda k, e=e: e.get(k)) if isinstance(e, dict) else (lambda k, e=e: getattr(e, k, None))
        try:
            start, length = int(get("offset")), int(get("length"))
        except (TypeError, ValueError):
            continue
        start, end = max(0, start), min(total, start + max(0, length))
        if end > start:
            marks.append((start, end, str(get("type") or ""), get("url")))
    cuts = sorted({0, total, *(m[0] for m in marks), *(m[1] for m in marks)})
    spans = []
    for a, b in zip(cuts, cuts[1:]):
        piece = _cut(encoded, a, b)
        info = {"styles": set(), "url": None, "pre": False, "quote": False}
        for start, end, kind, url in marks:
            if start <= a and b <= end:
                if kind == "bold":
                    info["styles"].add("bold")
                elif kind == "italic":
                    info["styles"].add("italic")
                elif kind == "strikethrough":
                    info["styles"].add("strike")
                elif kind == "code":
                    info["styles"].add("code")
                elif kind == "pre":
                    info["pre"] = True
                elif kind in ("blockquote", "expandable_blockquote"):
                    info["quote"] = True
                elif kind == "text_link" and url:
                    info["url"] = url
                elif kind == "url":
                    info["url"] = _cut(encoded, start, end)
                elif kind == "email":
                    info["url"] = "mailto:" + _cut(encoded, start, end)
        spans.append((piece, info))
    return spans


def _slack_url(url: str | None) -> str | None:
    if not url:
        return None
    if "://" not in url and not url.startswith(("mailto:", "tel:")):
        url = "http://" + url  # Telegram marks "acme.example/faq" as a url entity
    return _safe_url(url)


def telegram_to_rich_text(text: str, entities=None, *, lead: str | None = None) -> dict:
    """A ``rich_text`` block drawing the customer's text literally, with their own formatting.

    ``lead`` (e.g. "💬 Hank:") is drawn bold before it. Links keep their URL visible next to a
    label that differs from it, so a label cannot disguise where a link goes."""
    sections: list[dict] = []
    current: list[dict] = []
    mode = "section"

    def flush():
        nonlocal current
        if current:
            kind = {"section": "rich_text_section", "pre": "rich_text_preformatted",
                    "quote": "rich_text_quote"}[mode]
            sections.append({"type": kind, "elements": current})
        current = []

    if lead:
        current.append({"type": "text", "text": lead + " ", "style": {"bold": True}})
    for piece, info in telegram_spans(text, entities):
        want = "pre" if info["pre"] else "quote" if info["quote"] else "section"
        if want != mode:
            flush()
            mode = want
        style = {s: True for s in sorted(info["styles"])} if mode != "pre" else {}
        url = _slack_url(info["url"])
        if url:
            element = {"type": "link", "url": url, "text": piece}
            if style:
                element["style"] = style
            current.append(element)
            if url not in (piece, "http://" + piece, "mailto:" + piece):
                current.append({"type": "text", "text": f" ({url})"})
        else:
            element = {"type": "text", "text": piece}
            if style:
                element["style"] = style
            current.append(element)
    flush()
    if not sections:
        sections.append({"type": "rich_text_section", "elements": [{"type": "text", "text": " "}]})
    return {"type": "rich_text", "elements": sections}


def escape_mrkdwn(text: str) -> str:
    """Outside text made inert for mrkdwn (``integrations.slack.blocks.escape``: &, <, > escaped, a bare @channel broken),
    so ``<!channel>`` or ``<@U1>`` is shown, never acted on."""
    from integrations.slack.blocks import escape

    return escape(text)


def telegram_to_mrkdwn(text: str, entities=None) -> str:
    """The customer's text as mrkdwn (the notification text beside the rich-text block): their bold,
    italic, strike and code as Slack's markers; everything else escaped, so it cannot ping; links
    written out as "label (url)", never a live link whose label could hide where it goes."""
    out = []
    for piece, info in telegram_spans(text, entities):
        rendered = escape_mrkdwn(piece)
        url = _slack_url(info["url"])
        if url and rendered.strip() and url not in (piece, "http://" + piece, "mailto:" + piece):
            # never <url|label>: a label must not hide where a customer's link goes
            rendered = f"{rendered} ({escape_mrkdwn(url)})"
        if info["pre"]:
            rendered = f"```{rendered}```"
        elif rendered.strip():
            for style, mark in (("code", "`"), ("bold", "*"), ("italic", "_"), ("strike", "~")):
                if style in info["styles"]:
                    rendered = f"{mark}{rendered}{mark}"
        out.append(rendered)
    return "".join(out)
