"""Staff on Telegram: `/crm …` commands through the engine, and reminders or digests delivered here.

A staff member is whoever's Telegram id is on their Staff record (``crm-bot staff add
--telegram-id``). Their messages run as commands, exactly like Slack's `/crm` (a leading
`/crm` or `/` is optional). Replies are Telegram HTML; buttons become an inline keyboard
whose callback runs the button's command as the presser. Telegram allows 64 bytes of
``callback_data``, so each button is stored server-side (``telegram_callback``) under a short
random key, tied to the staff member it was sent to.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.identity import find_staff
from bot.messages import IncomingMessage
from bot.replies import Button, Reply
from crm import file_retention
from crm.events import claim_event
from crm.i18n import gettext
from crm.models import Staff, TelegramCallback
from integrations.telegram.render import render_html

log = logging.getLogger("crm.telegram")

FORM_HINTS = {
    "log": "/crm {cmd} call|email|meeting|chat|note [when] <summary>",
    "remind": "/crm {cmd} <when> <what>",
    "snooze": "/crm {cmd} <when>   (e.g. 1h, tomorrow 9am)",
}
BUTTONS_PER_ROW = 2
MAX_BUTTONS = 24


def command_line(text: str) -> str:
    """What a staff member typed, as a `/crm` line: `/crm show x`, `/show x` and `show x` are the same."""
    line = text.strip()
    if line.lower().startswith("/crm"):
        return line
    if line.startswith("/"):
        head, _, rest = line[1:].partition(" ")
        head = head.split("@", 1)[0]
        return "help" if head.lower() == "start" else f"{head} {rest}".strip()
    return line


def keyboard_rows(reply: Reply) -> list[list[tuple[Button, str]]]:
    """Rows of (button, label) for an inline keyboard. The keyboard sits under the message, apart from the
    lines its buttons belong to, so each list item gets a row of its own whose first button names the item
    ("remind #12 Sarah Kim · Initrode", "Show · #14 Globex"): three "remind #12" or "Show" buttons would not
    tell the rep which customer each one is for. The reply's own buttons follow, two to a row."""
    items = list(reply.items) + [i for section in reply.sections for i in section.items]
    rows: list[list[tuple[Button, str]]] = []
    count = 0
    for item in items:
        row = []
        name = item.text.strip().split("\n", 1)[0].strip()
        for button in item.buttons:
            if count >= MAX_BUTTONS:
                break
            if len(row) == BUTTONS_PER_ROW:  # more buttons than fit: the item continues on a row below
                rows.append(row)
                row = []
            label = button.label
            if not row and name and len(items) > 1 and name not in label:
                head, _, last = label.rpartition(" ")
                label = f"{head} {name}" if head and last.startswith("#") and name.startswith(last + " ") \
                    else f"{label} · {name}"
            row.append((button, label))
            count += 1
        if row:
            rows.append(row)
    row = []
    for button in reply.buttons:
        if count >= MAX_BUTTONS:
            break
        row.append((button, button.label))
        count += 1
        if len(row) == BUTTONS_PER_ROW:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return rows


class StaffChat:
    def __init__(self, adapter):
        self.adapter = adapter
        self.db = adapter.db
        self.engine = adapter.app.engine

    def _lang(self, staff_id: int) -> str:
        """The staff member's own language setting, else the business's (as replies to commands)."""
        with self.db.session() as s:
            staff = s.get(Staff, staff_id)
            language = staff.language if staff is not None else None
        return language if language in ("en", "zh") else self.engine.settings.crm_language

    def staff_id_for(self, telegram_user_id: int) -> int | None:
        with self.db.session() as s:
            staff = find_staff(s, "telegram", str(telegram_user_id))
            return staff.id if staff else None

    # ------------------------------------------------------------ incoming

    async def on_message(self, update: Update, staff_id: int) -> None:
        message = update.effective_message
        text = message.text or message.caption or ""
        if not text.strip():
            lang = await asyncio.to_thread(self._lang, staff_id)
            await self._send(message.chat_id, staff_id, Reply(text=gettext(
                lang, "Type a /crm command, e.g. /crm tasks or /crm help.")))
            return
        user = update.effective_user
        # message ids are unique per chat only; "once": the engine claims the message in the same
        # transaction as the command's work, so a redelivery after a crash neither repeats nor loses it
        incoming = IncomingMessage(platform="telegram", user_id=str(user.id), text=command_line(text),
                                   chat_id=str(message.chat_id), message_id=f"{message.chat_id}:{message.message_id}",
                                   user_name=user.full_name, extra={"once": True},
                                   language="zh" if (user.language_code or "").startswith("zh") else "en")
        reply = await asyncio.to_thread(self.engine.handle, incoming)
        await self._send(message.chat_id, staff_id, reply)

    async def on_callback(self, update: Update, staff_id: int) -> None:
        query = update.callback_query
        if not await asyncio.to_thread(claim_event, self.db, "telegram", f"update:{update.update_id}"):
            return
        key, _, confirmed = (query.data or "").removeprefix("b:").partition(":")
        stored = await asyncio.to_thread(self._button, key)
        chat_id = update.effective_chat.id
        lang = await asyncio.to_thread(self._lang, staff_id)
        if stored is None or stored.staff_id != staff_id:
            await self._answer(query, gettext(lang, "This button has expired or is not yours; type the command instead."))
            return
        if stored.form:
            await self._answer(query)
            hint = FORM_HINTS.get(stored.form, "/crm {cmd} …").format(cmd=stored.command)
            await self._send(chat_id, staff_id, Reply(text=gettext(lang, "Type: {hint}", hint=hint)))
            return
        if stored.confirm and confirmed != "y":
            await self._answer(query)
            await self._send(chat_id, staff_id, Reply(text=stored.confirm, buttons=[
                Button(gettext(lang, "Yes"), stored.command, style="danger")]), confirm_keys={stored.command: key})
            return
        await self._answer(query)
        incoming = IncomingMessage(platform="telegram", user_id=str(update.effective_user.id), text=stored.command,
                                   chat_id=str(chat_id), message_id=f"callback:{query.id}")
        reply = await asyncio.to_thread(self.engine.handle, incoming)
        await self._send(chat_id, staff_id, reply)

    @staticmethod
    async def _answer(query, text: str | None = None) -> None:
        try:
            await query.answer(text)
        except TelegramError:
            pass

    def _button(self, key: str) -> TelegramCallback | None:
        if not key:
            return None
        with self.db.session() as s:
            return s.get(TelegramCallback, key)

    # ------------------------------------------------------------ outgoing

    async def deliver(self, staff: Staff, reply: Reply) -> None:
        """The Delivery sender for Telegram: reminders and digests for a staff member."""
        if not staff.telegram_user_id:
            raise ValueError(f"{staff.name} has no Telegram id")
        await self._send(staff.telegram_user_id, staff.id, reply, quiet=False)

    def _store_buttons(self, staff_id: int, buttons: list[Button]) -> list[str]:
        keys = []
        with self.db.session() as s:
            for button in buttons:
                key = secrets.token_urlsafe(9)  # 12 characters
                s.add(TelegramCallback(key=key, staff_id=staff_id, command=button.command, form=button.form,
                                       confirm=button.confirm))
                keys.append(key)
        return keys

    async def _keyboard(self, staff_id: int, reply: Reply, confirm_keys: dict | None) -> InlineKeyboardMarkup | None:
        rows_of_buttons = keyboard_rows(reply)
        buttons = [button for row in rows_of_buttons for button, _ in row]
        if not buttons:
            return None
        if confirm_keys:
            # the "Yes" of a confirmation re-uses the original key, marked as confirmed
            keys = iter([f"{confirm_keys[b.command]}:y" for b in buttons])
        else:
            keys = iter(await asyncio.to_thread(self._store_buttons, staff_id, buttons))
        return InlineKeyboardMarkup([[InlineKeyboardButton(label[:60], callback_data=f"b:{next(keys)}")
                                      for _, label in row] for row in rows_of_buttons])

    async def _send(self, chat_id: int, staff_id: int, reply: Reply, confirm_keys: dict | None = None, *,
                    quiet: bool = True) -> None:
        """Sends a reply; ``quiet`` logs Telegram's refusals instead of raising (answers in a chat)."""
        bot = self.adapter.application.bot
        chunks = render_html(reply)
        markup = await self._keyboard(staff_id, reply, confirm_keys)
        try:
            for index, chunk in enumerate(chunks):
                await bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML,
                                       reply_markup=markup if index == len(chunks) - 1 else None)
            for path, sender in ((reply.image_path, bot.send_photo), (reply.file_path, bot.send_document)):
                if path and Path(path).is_file():
                    with open(path, "rb") as handle:
                        await sender(chat_id, handle)
                    file_retention.delivered(path)  # a privacy export is for this one delivery
        except TelegramError as exc:
            log.warning("telegram: reply to staff chat %s not delivered: %s", chat_id, exc)
            if not quiet:
                raise
