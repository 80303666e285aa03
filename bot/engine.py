"""The platform-free core: message in, reply out.

Parse, identify, authorize, run the handler in one session (one unit of work), and turn
every failure into a reply. Adapters call ``Engine.handle`` and render what comes back.
"""
from __future__ import annotations

import difflib
import logging
import uuid
from datetime import datetime
from typing import Callable

from bot.context import Context
from bot.errors import Ambiguous, UserError
from bot.identity import StaffCache, link_by_email
from bot.messages import IncomingMessage
from bot.parser import as_note, looks_like_command_typo, parse, parse_or_note, starts_a_sentence
from bot.ports import Ports
from bot.registry import COMMANDS, lookup
from bot.replies import Button, Item, Reply
from bot.roles import authorize
from bot.settings import Settings
from crm.command_journal import claim_work_in
from crm.db import Database
from crm.events import claim_event_in
from crm.i18n import catalogue, gettext
from crm.types import utcnow

log = logging.getLogger("crm.engine")

UNKNOWN_USER = ("Hi! I don't know you yet, so I can't show any CRM data. "
                "Ask an admin to add you (`/crm staff add \"Your Name\" role=rep email=you@…`).")


class Engine:
    def __init__(self, db: Database, settings: Settings, *, clock: Callable[[], datetime] | None = None,
                 ports: Ports | None = None):
        if not COMMANDS:
            # the commands register themselves when the handlers package is imported, which only the
            # composition modules do (bot/app.py; tests/fixtures/store.py for tests)
            raise RuntimeError("no /crm commands are registered: import handlers where the engine is composed")
        self.db = db
        self.settings = settings
        self.clock = clock or utcnow  # the one clock: handlers and adapters read engine.clock
        # what handlers may ask of the adapters; filled in at composition (bot/app.py, bot/cli.py)
        self.ports = ports if ports is not None else Ports()
        self.staff = StaffCache()  # who a platform user is, between commands; invalidated by any staff write
        catalogue("zh")  # the Chinese texts are read once, here, rather than on the first Chinese reply

    def handle(self, message: IncomingMessage) -> Reply:
        try:
            return self._handle(message)
        except UserError as err:
            if err.lang is None:  # raised before the command ran (it could not be read): whose language?
                err.lang = self._reader_language(message)
            return self._user_error_reply(err)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command failed (ref %s) platform=%s user=%s", ref, message.platform, message.user_id)
            return Reply.fail(gettext(self._reader_language(message),
                                      "Sorry, something went wrong on my side and nothing was changed. Please try "
                                      "again; if it keeps happening, tell an admin (ref {ref}).", ref=ref))

    def _handle(self, message: IncomingMessage) -> Reply:
        parsed = parse_or_note(message.text)
        if not parsed.name:
            parsed = parse("help")
        spec = lookup(parsed.name)
        if spec is None and parsed.name.isdigit() and not parsed.tokens:
            # a number typed on its own was meant for a numbered button that is not (or no longer) there
            raise UserError("There is no button {n} here. Press a button on the latest reply, or type a command "
                            "(`/crm help` lists them).", n=parsed.name[:12])
        if spec is None:
            guesses = difflib.get_close_matches(parsed.name, list(COMMANDS), n=3, cutoff=0.6)
            if guesses and looks_like_command_typo(parsed):
                raise UserError("I don't know the command `{name}`. Did you mean `/crm {guess}`? Type `/crm help` to "
                                "see them all.", name=parsed.name[:40], guess=guesses[0])
            # a sentence, not a command: a staff note, shown as understood before anything is stored
            parsed, spec = as_note(message.text), lookup("note")
        elif starts_a_sentence(parsed):
            parsed, spec = as_note(message.text), lookup("note")
        if spec.read_only:
            # a command that only reads runs in a read session: on SQLite it neither waits for nor
            # holds the one writer, and a repeated delivery is simply answered again
            with self.db.read_session() as session:
                actor = self.staff.find(session, message.platform, message.user_id)
                if actor is not None:
                    return self._run(session, actor, message, parsed, spec)
            if not message.user_email:
                return Reply.fail(UNKNOWN_USER)
            # not known by their platform id: linking them by email (below) writes
        once = bool(message.message_id and message.extra.get("once")) and not spec.read_only
        # every command that may write is one write transaction (on SQLite: the writer queue). A
        # delivery the platform may repeat (a retried slash command) is claimed in the same
        # transaction as its work: a repeat after a crash either finds it done or redoes it, never twice
        with self.db.write_session() as session:
            actor = self.staff.find(session, message.platform, message.user_id)
            if once and not self._claim(session, message):
                lang = actor.language if actor is not None and actor.language in ("en", "zh") \
                    else self.settings.crm_language
                return Reply(text=gettext(lang, "Already done: I had carried out this command before (the answer "
                                                "was interrupted by a retry or a restart), so nothing was repeated."))
            if actor is None:
                actor = link_by_email(session, message.platform, message.user_id, message.user_email)
            if actor is None:
                return Reply.fail(UNKNOWN_USER)
            return self._run(session, actor, message, parsed, spec)

    @staticmethod
    def _claim(session, message: IncomingMessage) -> bool:
        """The delivery's exactly-once claim, in the work's transaction. A journaled command (a slash
        command) is claimed on its journal row, so its trigger id is written once; other deliveries
        claim a processed_event row."""
        journal_id = message.extra.get("journal_id")
        if journal_id is not None:
            # a rerun may be of a command an older version had claimed in processed_event
            legacy = f"once:{message.message_id}" if message.extra.get("rerun") else None
            # the handler's rows keep their source (message id) without claiming it again
            message.extra["claimed"] = claim_work_in(session, journal_id, legacy_key=legacy,
                                                     platform=message.platform)
            return message.extra["claimed"]
        return claim_event_in(session, message.platform, f"once:{message.message_id}")

    def _run(self, session, actor, message: IncomingMessage, parsed, spec) -> Reply:
        ctx = Context(session=session, actor=actor, message=message, command=parsed, spec=spec,
                      settings=self.settings, now=self.clock(), ports=self.ports)
        lang = ctx.lang  # read now: after a failed flush the actor's row may no longer be readable
        try:
            authorize(session, actor, spec.permission)
            reply = spec.handler(ctx)
        except UserError as err:
            # the store raised it without knowing who asked: it is shown in the reader's language
            err.lang = lang
            if isinstance(err, Ambiguous):  # answered after the rollback, with buttons that rerun the command
                err.command_line = message.text
            raise
        if reply.error:
            # an error reply changes nothing, whether the handler raised ctx.fail or returned Reply.fail
            session.rollback()
            if ctx.lang == "zh" and reply.usage is None:
                reply.usage = spec.usage
        return reply

    def _reader_language(self, message: IncomingMessage) -> str:
        """The sender's own language setting, else the business's (as ``Context.lang``)."""
        fallback = self.settings.crm_language if self.settings.crm_language in ("en", "zh") else "en"
        try:
            with self.db.read_session() as session:
                staff = self.staff.find(session, message.platform, message.user_id)
                language = staff.language if staff is not None else None
        except Exception:  # the answer to bad input must not depend on the store answering
            log.warning("could not read the sender's language", exc_info=True)
            return fallback
        return language if language in ("en", "zh") else fallback

    def _user_error_reply(self, err: UserError) -> Reply:
        reply = Reply.fail(err.text(), usage=err.usage)
        if isinstance(err, Ambiguous) and err.candidates:
            show = gettext(err.lang, "Show")
            items = []
            for cid, label in err.candidates:
                rerun = rerun_on(err.command_line, err.ref, cid)
                buttons = [Button(f"{rerun.split()[0]} #{cid}", rerun, style="primary")] if rerun else []
                items.append(Item(label, buttons + [Button(show, f"show #{cid}")]))
            reply.items = items
            reply.usage = None  # the buttons are the way on, not the usage line
            if any(item.buttons[0].command != f"show #{cid}" for item, (cid, _) in zip(items, err.candidates)):
                reply.text += gettext(err.lang, " Press one to run your command on that customer, or name one by its #id.")
            else:
                reply.text += gettext(err.lang, " Name one by its #id, e.g. `#{id}`.", id=err.candidates[0][0])
        return reply


def rerun_on(command_line: str | None, ref: str | None, customer_id: int) -> str | None:
    """The command as typed with the ambiguous customer reference replaced by ``#id``; None when the
    reference is not one token of the command (then only "Show" is offered)."""
    if not command_line or not ref:
        return None
    try:
        parsed = parse(command_line)
    except UserError:
        return None
    for tok in parsed.tokens:
        if tok.value.strip() == ref:
            text = f"{parsed.text[:tok.start]}#{customer_id}{parsed.text[tok.end:]}"
            line = f"{parsed.name} {text.strip()}"
            return line if len(line) <= 1900 else None  # a Slack button value holds 2,000 characters
    return None
