"""Staff notes in their own words: understood, shown as a card, stored only on Confirm.

    Called Wang Wei at Globex yesterday 4pm, they want 20 more seats, follow up next Tuesday 10am

The engine sends any line whose first word is no command here (``/crm note <text>`` works too).
The reading (crm/understanding/notes.py) becomes a ``pending_note`` row and a card with Confirm,
Edit and Cancel. Confirm claims the row (pending → confirmed, one conditional UPDATE in the same
transaction as the work) and does what ``/crm log``, ``/crm remind`` and ``/crm deal`` would do,
audited the same way; Cancel discards it. Nothing else is written before Confirm.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from bot.cards import customer_label, money
from bot.registry import command
from bot.replies import Button, Item, Reply
from crm.deals import change_deal, open_deal, open_deals_of
from crm.i18n import with_article
from crm.interactions import log_interaction
from crm.labels import kind_label
from crm.models import INTERACTION_KINDS, Company, Customer, PendingNote
from crm.pending_notes import decide, record_result, save_note, set_draft
from crm.search import search_customers
from crm.tasks import create_task
from crm.understanding.amounts import Amount, find_amounts
from crm.understanding.notes import Candidate, NoteDraft, is_small_talk, parse_note

USAGE = "note <what happened, in your own words>   ·   note confirm|cancel|edit <id>   ·   note set <id> key=value…"
EXPIRES = timedelta(days=7)
SET_KEYS = {"customer", "kind", "when", "follow", "title", "amount", "summary"}



# ---------------------------------------------------------------- reading a note against the store


def customer_lookup(session):
    """A ``lookup`` for the note reader: the store's fuzzy search, with each customer's company."""
    companies: dict[int, str] = {}

    def company_of(customer: Customer) -> str:
        if not customer.company_id:
            return ""
        if customer.company_id not in companies:
            row = session.get(Company, customer.company_id)
            companies[customer.company_id] = row.name if row else ""
        return companies[customer.company_id]

    def lookup(query: str) -> list[Candidate]:
        if query.startswith("#") and query[1:].isdigit() and len(query) <= 19:
            customer = session.get(Customer, int(query[1:]))
            if customer is None or customer.forgotten_at is not None:
                return []
            return [Candidate(customer.id, customer.name, company_of(customer), 100.0)]
        return [Candidate(c.id, c.name, company_of(c), s) for c, s in search_customers(session, query, limit=6,
                                                                                         min_score=60)]

    return lookup


def read_note(session, text: str, now_local: datetime) -> NoteDraft:
    from bot.dates import extract_when

    def when(clause: str, prefer: str):
        return extract_when(clause, now=now_local, prefer=prefer)

    # a note is a few sentences; a pasted page is read for its first 2,000 characters (all of it is kept)
    return parse_note(text[:2000], when=when, now=now_local, lookup=customer_lookup(session))


# ---------------------------------------------------------------- the pending row


def _draft_to_json(draft: NoteDraft, lang: str) -> dict:
    amount = draft.amount
    return {
        "customer_id": draft.customer.id if draft.customer else None,
        "candidates": [[c.id, c.name, c.company] for c in draft.candidates[:5]],
        "kind": draft.kind, "occurred_at": draft.occurred_at.isoformat() if draft.occurred_at else None,
        "summary": draft.summary, "follow_up_at": draft.follow_up_at.isoformat() if draft.follow_up_at else None,
        "follow_up_title": draft.follow_up_title, "wants_follow_up": draft.wants_follow_up,
        "amount": ({"value": amount.value, "currency": amount.currency, "unit": amount.unit, "text": amount.text}
                   if amount else None),
        "lang": lang,
    }


def _load(ctx, ref: str) -> tuple[PendingNote, dict]:
    m = re.fullmatch(r"#?(\d{1,18})", ref or "")
    row = ctx.session.get(PendingNote, int(m.group(1))) if m else None
    if row is None or row.staff_id != ctx.actor.id:
        raise ctx.fail(ctx.t("There is no note {r} of yours waiting for confirmation.",
                             r=(ref or "?")[:20]))
    return row, json.loads(row.draft or "{}")


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _amount_text(ctx, amount: dict | None) -> str:
    if not amount:
        return "—"
    if amount.get("unit"):
        return ctx.t("{n:g} {u} — kept in the log (no money amount, so no deal)",
                     n=amount["value"], u=amount["unit"])
    currency = amount.get("currency") or _default_currency(ctx)
    return ctx.t("{m} — opens or updates the customer's deal",
                 m=money(amount["value"], currency))


def _default_currency(ctx) -> str:
    return (getattr(ctx.settings, "crm_currency", None) or "USD").upper()


def card(ctx, row: PendingNote, draft: dict) -> Reply:
    """What was understood, with Confirm / Edit / Cancel."""
    customer = ctx.session.get(Customer, draft["customer_id"]) if draft.get("customer_id") else None
    if customer is not None:
        who = customer_label(ctx.session, customer)
    elif draft.get("candidates"):
        who = ctx.t("not sure — pick one below")
    else:
        who = ctx.t("not found — press Edit and name one (customer=#id)")
    kind = draft.get("kind", "note")
    follow_at = _moment(draft.get("follow_up_at"))
    if follow_at:
        follow = f"{ctx.fmt(follow_at)} — {draft.get('follow_up_title') or ctx.t('follow up')}"
    elif draft.get("wants_follow_up"):
        follow = ctx.t("asked for, but no date — press Edit to add follow=…")
    else:
        follow = "—"
    fields = [(ctx.t("Customer"), who),
              (ctx.t("Kind"), kind_label(kind, ctx.lang)),
              (ctx.t("When"), ctx.fmt(_moment(draft.get("occurred_at"))) if draft.get("occurred_at")
               else ctx.t("now (when you confirm)")),
              (ctx.t("Summary"), draft.get("summary") or "—"),
              (ctx.t("Follow-up"), follow),
              (ctx.t("Deal"), _amount_text(ctx, draft.get("amount")))]
    reply = Reply(text=ctx.t("Here is what I understood (note #{id}). Nothing is stored until you confirm.", id=row.id), fields=fields)
    if customer is None:
        reply.items = [Item(f"{name} — {company or '—'} (#{cid})",
                            [Button(ctx.t("This one"), f"note set #{row.id} customer=#{cid}")])
                       for cid, name, company in draft.get("candidates", [])]
    else:
        reply.buttons.append(Button(ctx.t("Confirm"), f"note confirm #{row.id}", style="primary"))
    reply.buttons += [Button(ctx.t("Edit"), f"note edit #{row.id}"),
                      Button(ctx.t("Cancel"), f"note cancel #{row.id}", style="danger")]
    return reply


def _short_help(ctx) -> Reply:
    return Reply(text=ctx.t(
        "Hi! Type `/crm help` for the commands, or just write what happened, e.g. “Called Wang Wei at Globex "
        "yesterday 4pm, follow up next Tuesday 10am” — I'll show what I understood before storing anything."))


# ---------------------------------------------------------------- the command


@command("note", usage=USAGE, summary="write what happened in your own words; I show what I understood first",
         examples=["note Called Wang Wei at Globex yesterday 4pm, they want 20 more seats, follow up next Tuesday 10am",
                   "note 昨天下午和环球公司的王伟开了会，他们想再加20个席位，下周二上午10点跟进"],
         details="You can also simply write the sentence, without `/crm note`.")
def note(ctx) -> Reply:
    tokens = ctx.command.tokens
    action = tokens[0].value.lower() if tokens else ""
    if action in ("confirm", "cancel", "edit", "set") and len(tokens) >= 2 and re.fullmatch(r"#?\d{1,18}",
                                                                                           tokens[1].value):
        return {"confirm": confirm, "cancel": cancel, "edit": edit, "set": set_fields}[action](ctx, tokens[1].value)
    text = ctx.command.text.strip()
    if not text:
        raise ctx.fail(ctx.t("Write what happened after `/crm note`, e.g. “Called Wang Wei yesterday 4pm, follow up "
                             "Tuesday 10am” — or simply send the sentence."))
    if is_small_talk(text) or len(text) < 4:
        return _short_help(ctx)
    draft = read_note(ctx.session, text, ctx.local_now)
    if (draft.customer is None and not draft.candidates and draft.kind == "note" and draft.occurred_at is None
            and draft.follow_up_at is None and draft.amount is None and len(text.split()) <= 3 and not
            re.search(r"[\u3400-\u9fff]{4,}", text)):
        return _short_help(ctx)  # a few words that name nothing and say nothing happened
    row = save_note(ctx.session, staff=ctx.actor, platform=ctx.message.platform, text=text,
                    draft=_draft_to_json(draft, ctx.lang), now=ctx.now)
    return card(ctx, row, json.loads(row.draft))


def confirm(ctx, ref: str) -> Reply:
    row, draft = _load(ctx, ref)
    if row.status != "pending":
        return _decided(ctx, row)
    if row.created_at < ctx.now - EXPIRES:
        raise ctx.fail(ctx.t("Note #{id} is more than 7 days old; write it again.",
                             id=row.id))
    if not draft.get("customer_id"):
        raise ctx.fail(ctx.t("Pick the customer first (the buttons on the card, or `/crm note set #{id} customer=#12`).", id=row.id))
    customer = ctx.customer(f"#{draft['customer_id']}")
    amount = draft.get("amount")
    if amount and not amount.get("unit"):
        ctx.require("customer.edit", customer)  # the same rule as /crm deal, checked before anything is done
    # the claim: only one confirmation can move the row out of "pending"
    if not decide(ctx.session, row, status="confirmed", now=ctx.now):
        ctx.session.refresh(row)
        return _decided(ctx, row)
    done: list[str] = []
    kind = draft.get("kind") if draft.get("kind") in INTERACTION_KINDS else "note"
    occurred = _moment(draft.get("occurred_at"))
    if occurred is None or occurred > ctx.now + timedelta(minutes=5):
        occurred = ctx.now
    summary = draft.get("summary") or row.text
    interaction = log_interaction(ctx.session, customer, kind=kind, text=summary[:4000], staff=ctx.actor,
                                  occurred_at=occurred, channel=ctx.message.platform,
                                  direction="internal" if kind == "note" else "outbound",
                                  source=("note", str(row.id)))
    ctx.audit("interaction.create", customer, kind=kind, interaction_id=interaction.id, via=f"note #{row.id}")
    done.append(ctx.t("Logged {k}, {at}.", k=with_article(kind) if ctx.lang == "en" else kind_label(kind, ctx.lang),
                      at=ctx.fmt(occurred)))
    follow_at = _moment(draft.get("follow_up_at"))
    if follow_at is not None:
        if follow_at <= ctx.now:
            done.append(ctx.t("The follow-up time {at} has passed, so no reminder was set.", at=ctx.fmt(follow_at)))
        else:
            title = (draft.get("follow_up_title") or ctx.t("Follow up with {who}", who=customer.name))[:500]
            task = create_task(ctx.session, customer=customer, owner=ctx.actor, created_by=ctx.actor, title=title,
                               due_at=follow_at)
            ctx.audit("task.create", customer, task_id=task.id, due_at=follow_at.isoformat(), via=f"note #{row.id}")
            done.append(ctx.t("I'll remind you {at}: {t}.", at=ctx.fmt(follow_at), t=title))
    if amount and not amount.get("unit"):
        done.append(_deal(ctx, customer, amount, summary, row.id))
    record_result(ctx.session, row, {"interaction_id": interaction.id})
    return Reply(text=ctx.t("Done — note #{id} for {who}:", id=row.id,
                            who=customer_label(ctx.session, customer)),
                 items=[Item(line) for line in done])


def _deal(ctx, customer: Customer, amount: dict, summary: str, note_id: int) -> str:
    """What `/crm deal <customer> <amount> <title>` does: update the one open deal, else open one."""
    currency = amount.get("currency") or _default_currency(ctx)
    open_deals = open_deals_of(ctx.session, customer)
    if len(open_deals) == 1:
        row = open_deals[0]
        before = (row.amount, row.stage)
        change_deal(ctx.session, row, customer=customer, now=ctx.now, amount=amount["value"], currency=currency)
        action = "deal.update"
    else:
        row = open_deal(ctx.session, customer=customer, opened_by=ctx.actor, now=ctx.now, amount=amount["value"],
                        currency=currency, title=summary)
        before, action = None, "deal.create"
    ctx.audit(action, customer, deal_id=row.id, amount=amount["value"], stage=row.stage, before=before,
              via=f"note #{note_id}")
    verb = ctx.t("Opened") if before is None else ctx.t("Updated")
    return f"{verb} deal #{row.id}: {money(row.amount, row.currency)} · {row.stage}"


def _decided(ctx, row: PendingNote) -> Reply:
    if row.status == "confirmed":
        return Reply(text=ctx.t("Note #{id} was already confirmed; nothing was repeated.",
                                id=row.id))
    return Reply(text=ctx.t("Note #{id} was cancelled; nothing was stored.", id=row.id))


def cancel(ctx, ref: str) -> Reply:
    row, _draft = _load(ctx, ref)
    if not decide(ctx.session, row, status="cancelled", now=ctx.now):
        ctx.session.refresh(row)
        return _decided(ctx, row)
    return Reply(text=ctx.t("Cancelled note #{id}; nothing was stored.", id=row.id))


def _quote(value: str) -> str:
    return '"' + value.replace('"', "'") + '"'


def edit(ctx, ref: str) -> Reply:
    """The note's fields as a command line to correct and send back."""
    row, draft = _load(ctx, ref)
    if row.status != "pending":
        return _decided(ctx, row)
    parts = [f"note set #{row.id}"]
    parts.append(f"customer=#{draft['customer_id']}" if draft.get("customer_id") else "customer=…")
    parts.append(f"kind={draft.get('kind', 'note')}")
    occurred = _moment(draft.get("occurred_at"))
    parts.append("when=" + (_quote(occurred.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")) if occurred else "now"))
    follow_at = _moment(draft.get("follow_up_at"))
    parts.append("follow=" + (_quote(follow_at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")) if follow_at else "none"))
    if draft.get("follow_up_title"):
        parts.append("title=" + _quote(draft["follow_up_title"]))
    amount = draft.get("amount")
    if amount and not amount.get("unit"):
        parts.append(f"amount={amount['value']:g}" + (f" {amount['currency']}" if False else ""))
    else:
        parts.append("amount=none")
    parts.append("summary=" + _quote(draft.get("summary") or ""))
    line = "/crm " + " ".join(parts)
    return Reply(text=ctx.t("Correct what is wrong in this line and send it; I'll show the card again:") + f"\n{line}",
                 fields=[("customer", ctx.t("#id or a name")), ("kind", "call|meeting|email|chat|note"),
                         ("when / follow", ctx.t("a date, “now” / “none”")),
                         ("amount", ctx.t("12000, 12k, ¥5万 or none"))])


def set_fields(ctx, ref: str) -> Reply:
    row, draft = _load(ctx, ref)
    if row.status != "pending":
        return _decided(ctx, row)
    ctx.command.tokens = ctx.command.tokens[2:]
    options = ctx.command.take_options(SET_KEYS, USAGE)
    if not options:
        raise ctx.fail(ctx.t("Say what to change, e.g. `/crm note set #{id} customer=#12 follow=\"friday 10am\"`.", id=row.id))
    if "customer" in options:
        value = options["customer"].strip()
        customer = ctx.customer(value, quoted=" " in value)
        draft["customer_id"] = customer.id
    if "kind" in options:
        from handlers.log import KIND_WORDS

        kind = KIND_WORDS.get(options["kind"].lower())
        if kind is None or kind == "message":
            raise ctx.fail(ctx.t("kind= is one of call, meeting, email, chat, note."))
        draft["kind"] = kind
    if "when" in options:
        value = options["when"].strip().lower()
        if value in ("now", "none", "", "现在"):
            draft["occurred_at"] = None
        else:
            moment, _rest = ctx.when(options["when"], prefer="past")
            if moment is None:
                raise ctx.fail(ctx.t("when= needs a date such as “yesterday 4pm” or now."))
            if moment > ctx.now + timedelta(minutes=5):
                raise ctx.fail(ctx.t("when= is in the future; a follow-up goes in follow=."))
            draft["occurred_at"] = moment.isoformat()
    if "follow" in options:
        value = options["follow"].strip().lower()
        if value in ("none", "no", "", "无"):
            draft["follow_up_at"], draft["wants_follow_up"] = None, False
        else:
            moment, _rest = ctx.when(options["follow"], prefer="future")
            if moment is None or moment <= ctx.now:
                raise ctx.fail(ctx.t("follow= needs a time ahead, e.g. “friday 10am”."))
            draft["follow_up_at"], draft["wants_follow_up"] = moment.isoformat(), True
    if "title" in options:
        draft["follow_up_title"] = options["title"].strip()[:500]
    if "summary" in options:
        draft["summary"] = options["summary"].strip()[:4000]
    if "amount" in options:
        value = options["amount"].strip()
        if value.lower() in ("none", "no", "0", "", "无"):
            draft["amount"] = None
        else:
            found = _parse_amount(value)
            if found is None:
                raise ctx.fail(ctx.t("amount= takes 12000, 12k, $12,000, ¥5万 or none."))
            draft["amount"] = {"value": found.value, "currency": found.currency, "unit": found.unit, "text": found.text}
    set_draft(ctx.session, row, draft)
    return card(ctx, row, draft)


def _parse_amount(value: str) -> Amount | None:
    from handlers.deal import parse_amount

    plain = parse_amount(value)
    if plain is not None:
        currency = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY"}.get(value.strip()[:1])
        return Amount(plain, currency, None, 0, len(value), value)
    found = find_amounts(value)
    return found[0] if found else None
