"""A digest as a ``Reply``: a manager's team day, or a rep's own, every item one press from action.

``digest_kind`` decides who receives one; ``build_digest`` reads the store (see
``data``) and the insight job's results (see ``insight_feed``) and draws the chart.
"""
from __future__ import annotations

import logging
from typing import Iterable

from sqlmodel import Session

from bot.cards import money
from bot.replies import Button, Item, Reply, Section
from bot.voice import Voice
from crm.i18n import days_overdue, money_totals
from crm.labels import kind_label, stage_label
from crm.models import Staff
from handlers.digest import insight_feed
from handlers.digest.chart import render_digest_chart
from handlers.digest.data import STALLED_AFTER_DAYS, DigestData, gather
from handlers.digest.signals import customer_signals_section

log = logging.getLogger("crm.digest")



RECOMMENDATIONS_SHOWN = 8


def digest_kind(staff: Staff) -> str | None:
    """``manager`` (the team digest) for managers, and admins who subscribed; ``personal`` for
    subscribed reps; None for everyone else."""
    if not staff.active:
        return None
    if staff.role == "manager" or (staff.role == "admin" and staff.digest_subscribed):
        return "manager"
    if staff.role == "rep" and staff.digest_subscribed:
        return "personal"
    return None


def build_digest(session: Session, recipient: Staff, kind: str, voice: Voice, *, chart: bool = True) -> Reply:
    data = gather(session, recipient, kind, voice)
    reply = Reply(text=_headline(data, voice), fields=_summary(data, voice))
    sections = [_activity(data, voice), _follow_ups(data, voice), _tickets(data, voice), _deals(data, voice)]
    for insight_section in (customer_signals_section, _recommendations, _graph):
        try:
            sections.append(insight_section(session, data, voice))
        except Exception:  # the insight job's artefacts: a surprise there must not cost the digest
            log.exception("%s left out of %s's digest", insight_section.__name__.strip("_"), recipient.name)
    reply.sections = [s for s in sections if s is not None]
    # one button per item at most (Slack shows it beside the line), and the lists behind them here
    reply.buttons = [Button(voice.t("My tasks"), "tasks"),
                     Button(voice.t("Who to contact"), "next" if kind == "personal" else "next team")]
    if chart:
        reply.image_path = str(render_digest_chart(data, lang=voice.lang))
    return reply


def _headline(data: DigestData, voice: Voice) -> str:
    if data.kind == "personal":
        return voice.t("☀️ Your morning digest · {day}", day=voice.day_label(voice.today))
    return voice.t("☀️ Team digest for {team} · {day}",
                   team=data.recipient.name, day=voice.day_label(voice.today))


def _period(data: DigestData, voice: Voice) -> str:
    """"yesterday" or "since Fri 20 Nov": what the digest covers."""
    if data.since >= data.day:
        return voice.pt("digest period", "yesterday")
    return voice.t("since {day}", day=voice.day_label(data.since))


def _summary(data: DigestData, voice: Voice) -> list[tuple[str, str]]:
    open_deals = sum(n for n, _ in data.pipeline.values())
    pairs = [(amount, cur) for _, amounts in data.pipeline.values() for cur, amount in amounts.items()]
    total = money_totals(pairs, voice.lang, rates=data.rates, base=data.currency)
    return [(voice.t("Interactions {period}", period=_period(data, voice)),
             str(sum(a.total for a in data.activity))),
            (voice.t("Overdue follow-ups"), str(data.overdue_total)),
            (voice.t("Customers waiting on Telegram"), str(data.waiting_total)),
            (voice.t("Open pipeline"), voice.t("{n} · {amount}",
                                                          n=voice.plural(open_deals, "{n} deal", "{n} deals"),
                                                          amount=total))]



def _counts(counter, label=lambda k: k, order: Iterable[str] = ()) -> str:
    keys = [k for k in order if counter.get(k)] + [k for k, _ in counter.most_common() if k not in order]
    return ", ".join(f"{label(k)} {counter[k]}" for k in keys)


def _activity(data: DigestData, voice: Voice) -> Section:
    if data.since >= data.day:
        title = voice.t("Yesterday ({day}): activity by person and channel",
                        day=voice.day_label(data.day))
    else:
        title = voice.t("{a} – {b}: activity by person and channel",
                        a=voice.day_label(data.since), b=voice.day_label(data.day))
    items = []
    for row in sorted(data.activity, key=lambda a: (-a.total, a.staff.name)):
        if not row.total:
            text = voice.t("{who}: no interactions logged", who=row.staff.name)
        else:
            text = voice.t("{who}: {n} — {kinds} · via {channels}",
                           who=row.staff.name, n=row.total, kinds=_counts(row.by_kind, lambda k: kind_label(k, voice.lang)),
                           channels=_counts(row.by_channel))
        items.append(Item(text))
    return Section(title, items=items)


def _task_buttons(task_id: int, voice: Voice) -> list[Button]:
    return [Button(voice.t("Done"), f"done #{task_id}", style="primary"),
            Button(voice.t("Snooze"), f"snooze #{task_id}", form="snooze")]


def _follow_ups(data: DigestData, voice: Voice) -> Section | None:
    if not data.overdue_total and not data.due_today:
        return None
    lines = []
    if data.overdue_total and data.kind != "personal":
        lines.append(", ".join(f"{who} {n}" for who, n in data.overdue_by_owner.items()))
    items = []
    for t in data.overdue_oldest:
        days = max(0, (voice.now - t.due_at).days)
        who = f" — {t.customer}" if t.customer else ""
        owner = "" if data.kind == "personal" else f"{t.owner} · "
        items.append(Item(voice.t("⚠️ {owner}#{id} {title}{who} · due {at} ({d})", owner=owner, id=t.task_id,
                                  title=t.title, who=who, at=voice.fmt(t.due_at), d=days_overdue(voice.lang, days)),
                          _task_buttons(t.task_id, voice)[:1] if data.kind == "personal" else []))
    for t in data.due_today:
        who = f" — {t.customer}" if t.customer else ""
        items.append(Item(voice.t("🕑 #{id} {title}{who} · today {at}",
                                  id=t.task_id, title=t.title, who=who, at=f"{t.due_at.astimezone(voice.tz):%H:%M}"),
                          _task_buttons(t.task_id, voice)[:1]))
    title = voice.t("Follow-ups: {n} overdue", n=data.overdue_total)
    return Section(title, text="\n".join(lines), items=items)


def _waited(voice: Voice, since) -> str:
    hours = max(0, int((voice.now - since).total_seconds() // 3600))
    if hours < 48:
        return voice.t("{h}h", h=hours)
    return voice.t("{d} days", d=hours // 24)


def _tickets(data: DigestData, voice: Voice) -> Section | None:
    if not data.waiting_total:
        return None
    items = []
    for t in data.waiting:
        who = t.assignee or voice.t("unassigned")
        state = "" if t.answered else voice.t(" · no reply yet")
        items.append(Item(voice.t("💬 {customer} · waiting {w} · {who}{state}",
                                  customer=t.customer, w=_waited(voice, t.waiting_since), who=who, state=state),
                          [Button(voice.t("Open"), f"show #{t.customer_id}")]))
    return Section(voice.t("Telegram conversations waiting longest ({n} open)",
                           n=data.waiting_total), items=items)


def _stage(voice: Voice, stage: str) -> str:
    return stage_label(stage, voice.lang)


def _deals(data: DigestData, voice: Voice) -> Section | None:
    if not data.moved and not data.stalled_total:
        return None
    items = []
    for d in data.moved:
        owner = f" · {d.owner}" if d.owner and data.kind != "personal" else ""
        items.append(Item(voice.t("↗️ {customer} · {amount} → {stage}{owner}", customer=d.customer,
                                  amount=money(d.amount, d.currency, voice.lang), stage=_stage(voice, d.stage),
                                  owner=owner)))
    for d in data.stalled:
        owner = f" · {d.owner}" if d.owner and data.kind != "personal" else ""
        items.append(Item(voice.t("⏸ {customer} · {amount} · {days} in {stage}{owner}", customer=d.customer,
                                  amount=money(d.amount, d.currency, voice.lang),
                                  days=voice.plural(d.days_in_stage, "{n} day", "{n} days"),
                                  stage=_stage(voice, d.stage), owner=owner),
                          [Button(voice.t("Open"), f"show #{d.customer_id}")]))
    title = voice.t("Deals: {m} moved {period}, {s} stalled (over {d} days in stage)", m=len(data.moved), s=data.stalled_total,
                    d=STALLED_AFTER_DAYS, period=_period(data, voice))
    return Section(title, items=items)


def _recommendations(session: Session, data: DigestData, voice: Voice) -> Section | None:
    people = data.people
    picks = insight_feed.recommendations(session, people, voice.now, per_person=1 if data.kind != "personal" else 3,
                                           lang=voice.lang)
    if not picks:
        return None
    items = []
    for person in people:
        for rec in picks.get(person.id, []):
            owner = "" if data.kind == "personal" else f"{person.name}: "
            why = f" — {rec.reason}" if rec.reason else ""
            items.append(Item(f"🎯 {owner}{rec.customer}{why}",
                              [Button(voice.t("Open"), f"show #{rec.customer_id}")]))
    return Section(voice.t("Who to contact today"), items=items[:RECOMMENDATIONS_SHOWN])


def _graph(session: Session, data: DigestData, voice: Voice) -> Section | None:
    notes = insight_feed.graph_notes(session, data.people, lang=voice.lang, now=voice.now, currency=data.currency)
    if not notes:
        return None
    items = []
    for note in notes:
        owner = voice.t(" · owner {o}", o=note.owner) if note.owner and data.kind != "personal" else ""
        if note.kind == "connector":
            text = voice.t("🔗 Well connected: {c}{o} — {why}",
                           c=note.customer, o=owner, why=note.detail)
            button = Button(voice.t("Who they know"), f"graph #{note.customer_id}")
        elif note.kind == "single-threaded":
            text = voice.t("🧵 Only one contact: {c}{o} — {why}",
                           c=note.customer, o=owner, why=note.detail)
            button = Button(voice.t("Find a way in"), f"intro #{note.customer_id}")
        else:
            text = voice.t("📉 Going quiet: {c}{o} — {why}",
                           c=note.customer, o=owner, why=note.detail)
            button = Button(voice.t("Log"), f"log #{note.customer_id}", form="log")
        items.append(Item(text, [button]))
    return Section(voice.t("Relationships to look after"), items=items)
