"""`/crm campaign`: Telegram campaigns to a segment of consenting customers, and what they achieved."""
from __future__ import annotations

import math
import re
from datetime import datetime, time

from sqlalchemy import event, func
from sqlmodel import col, select

from bot.cards import customer_labels, money
from bot.errors import UserError
from bot.registry import command
from bot.replies import Button, Item, Reply, Section
from crm.campaigns import lifecycle, results, segments
from crm.campaigns.segments import CampaignError
from crm.campaigns.sender import TELEGRAM_RATE
from crm.i18n import N_, money_totals
from crm.models import Campaign, CampaignRecipient
from handlers.deal import parse_amount

USAGE = "campaign new|preview|send|report|list <name> …"
NEW_USAGE = ('campaign new "<name>" segment="tier=vip stage=active" start=<date> end=<date> budget=<amount> '
             'en="<message>" zh="<message in Chinese>"')
NEW_OPTIONS = frozenset({"segment", "start", "end", "budget", "en", "zh"})
SUBCOMMANDS = ("new", "preview", "send", "report", "list")
ZH_SUBCOMMANDS = {"新建": "new", "预览": "preview", "发送": "send", "报告": "report", "列表": "list"}
_TIME_GIVEN = re.compile(r"\d{1,2}(:\d{2}|\s*(am|pm)\b)|[点點时時]|noon|midnight|中午|晚上|上午|下午", re.I)

DETAILS = (
    "A campaign sends one Telegram message (English and/or Chinese; each customer gets their language) to the "
    "customers a segment describes, between its start and end. Segment keys: tier, stage, tags, language, owner, "
    "company; commas mean any of (tier=vip,gold); `segment=all` is everyone. Only customers with a Telegram chat "
    "who have not opted out (/stop) and have not blocked the bot are messaged. `send` asks for confirmation; "
    "messages go out at no more than 30 a second and a restart never sends anyone the message twice. "
    "Replies before the end date count for the campaign; `report` shows sent, delivered, replied, deals opened "
    "within 30 days and cost per reply, with a chart."
)


@command("campaign", usage=USAGE, summary="Telegram campaigns to a segment: create, preview, send, measure",
         group="Campaigns", details=DETAILS,
         examples=['campaign new "Spring renewal" segment="tier=vip stage=active" start=today end="in 2 weeks" '
                   'budget=500 en="Renew before May and get 10% off" zh="五月前续约可享九折"',
                   'campaign preview "Spring renewal"', 'campaign send "Spring renewal"',
                   'campaign report "Spring renewal"', "campaign list"])
def campaign(ctx) -> Reply:
    tokens = ctx.command.tokens
    sub = tokens[0].value.lower() if tokens and not tokens[0].quoted else ""
    sub = ZH_SUBCOMMANDS.get(sub, sub)
    if sub not in SUBCOMMANDS:
        got = ctx.t("“{word}” is not one of them. ", word=tokens[0].value[:30]) if tokens else ""
        raise ctx.fail(ctx.t("{got}Say what to do: `campaign new`, `preview`, `send`, `report` or `list`, "
                             "e.g. `/crm campaign report \"Spring renewal\"`.", got=got))
    try:
        return {"new": _new, "preview": _preview, "send": _send, "report": _report, "list": _list}[sub](ctx)
    except CampaignError as exc:
        # raised by the store in no language: the engine shows it in the asker's, with this usage
        exc.usage = NEW_USAGE if sub == "new" else USAGE
        raise


def _new_error(ctx, message: str) -> UserError:
    return UserError(message, NEW_USAGE)


# ---------------------------------------------------------------- helpers


def _name_after_sub(ctx, *, drop_confirm: bool = False) -> tuple[str, bool]:
    """The campaign name typed after the subcommand (quoted, or the rest of the line)."""
    rest = ctx.command.tokens[1:]
    confirm = False
    if drop_confirm and rest and not rest[-1].quoted and rest[-1].value.lower() in ("confirm", "确认"):
        confirm, rest = True, rest[:-1]
    name = " ".join(t.value for t in rest).strip()
    if not name:
        raise ctx.fail(ctx.t("Name the campaign, e.g. `/crm campaign {sub} \"Spring renewal\"`. "
                             "`/crm campaign list` shows them all.", sub=ctx.command.tokens[0].value))
    return name, confirm


def _load(ctx, name: str) -> Campaign:
    found = lifecycle.find_campaign(ctx.session, name)
    if found is None:
        known = ctx.session.exec(select(Campaign.name).order_by(col(Campaign.created_at).desc()).limit(5)).all()
        hint = ctx.t(" Campaigns: {names}.", names=", ".join(f"“{n}”" for n in known)) \
            if known else ctx.t(" There are none yet: create one with `/crm campaign new`.")
        raise ctx.fail(ctx.t("No campaign is called “{name}”.", name=name[:80]) + hint)
    return found


def _segment(ctx, found: Campaign) -> segments.Segment:
    return segments.parse_segment(ctx.session, found.segment)


def _status(ctx, found: Campaign) -> str:
    status = found.status
    if status == "sending" and found.starts_at and found.starts_at > ctx.now:
        status = "scheduled"
    labels = {"draft": ctx.pt("campaign status", "draft"),
              "sending": ctx.pt("campaign status", "sending"),
              "scheduled": ctx.pt("campaign status", "scheduled"),
              "sent": ctx.pt("campaign status", "sent")}
    return labels.get(status, status)


def _window(ctx, found: Campaign) -> str:
    return f"{ctx.fmt(found.starts_at)} → {ctx.fmt(found.ends_at)}"


def _date_option(ctx, options: dict, key: str, *, end_of_day: bool) -> datetime | None:
    raw = options.get(key, "").strip()
    if not raw:
        return None
    moment, rest = ctx.when(raw, prefer="future")
    if moment is None or rest.strip():
        raise _new_error(ctx, ctx.t("{key}={raw} is not a date I understand. Try {key}=2026-05-01, {key}=\"next monday\" "
                             "or {key}=\"in 2 weeks\".",
                             key=key, raw=raw[:40]))
    if end_of_day and not _TIME_GIVEN.search(raw):
        # "end=may 31" means until that day is over, not 09:00 on it
        moment = datetime.combine(moment.date(), time(23, 59, 59), tzinfo=moment.tzinfo)
    return moment


def _audience_fields(ctx, audience: segments.Audience) -> list[tuple[str, str]]:
    return [(ctx.t("Will receive it"), f"{audience.reachable:,}"),
            (ctx.t("In the segment"), f"{audience.matching:,}"),
            (ctx.t("Left out: no Telegram"), f"{audience.no_telegram:,}"),
            (ctx.t("Left out: opted out (/stop)"), f"{audience.opted_out:,}"),
            (ctx.t("Left out: blocked the bot"), f"{audience.blocked:,}")]


def _duration(ctx, count: int) -> str:
    minutes = math.ceil(count / TELEGRAM_RATE / 60)
    return ctx.t("about {n} min", n=max(1, minutes))


def _quoted(name: str) -> str:
    return f'"{name}"'


# ---------------------------------------------------------------- new


def _new(ctx) -> Reply:
    ctx.require("campaign.manage")
    options = ctx.command.take_options(NEW_OPTIONS, NEW_USAGE)
    name = " ".join(t.value for t in ctx.command.tokens[1:]).strip()
    if not name:
        raise _new_error(ctx, ctx.t('Give the campaign a name, e.g. `/crm campaign new "Spring renewal" segment="tier=vip" '
                             'end="in 2 weeks" en="…"`.'))
    if len(name) > 200 or any(q in name for q in "\"“”'"):
        raise _new_error(ctx, ctx.t("A campaign name has at most 200 characters and no quote marks."))
    if name.lower() in SUBCOMMANDS or name.startswith("#"):
        raise _new_error(ctx, ctx.t("“{name}” can't be a campaign name; pick a descriptive one like \"Spring renewal\".", name=name))
    if lifecycle.find_campaign(ctx.session, name) is not None:
        raise _new_error(ctx, ctx.t("There is already a campaign called “{name}”; pick another name.", name=name))
    segment = segments.parse_segment(ctx.session, options.get("segment", ""))
    message_en, message_zh = options.get("en", "").strip(), options.get("zh", "").strip()
    if not message_en and not message_zh:
        raise _new_error(ctx, ctx.t('Write the message: en="…" for English and/or zh="…" for Chinese. Customers get '
                             "their own language, or the other one when theirs is missing."))
    for key, text in (("en", message_en), ("zh", message_zh)):
        if len(text) > lifecycle.MAX_MESSAGE:
            raise _new_error(ctx, ctx.t("{key}= is {n:,} characters; a Telegram message holds {max:,} here.", key=key, n=len(text),
                                 max=lifecycle.MAX_MESSAGE))
    starts_at = _date_option(ctx, options, "start", end_of_day=False) or ctx.now
    ends_at = _date_option(ctx, options, "end", end_of_day=True)
    if ends_at is None:
        raise _new_error(ctx, ctx.t('Say when the campaign ends, e.g. end="in 2 weeks" or end=2026-05-31: replies until '
                             "then count for it."))
    if ends_at <= starts_at:
        raise _new_error(ctx, ctx.t("The end ({end}) must come after the start ({start}).",
                             end=ctx.fmt(ends_at), start=ctx.fmt(starts_at)))
    if ends_at <= ctx.now:
        raise _new_error(ctx, ctx.t("The end ({end}) is already past; a campaign needs time to run.", end=ctx.fmt(ends_at)))
    budget = 0.0
    if options.get("budget", "").strip():
        budget = parse_amount(options["budget"])
        if budget is None or budget > 1e12:
            raise _new_error(ctx, ctx.t("budget={raw} is not an amount. Use a number ≥ 0 like 500, 1,500 or 2k.",
                                 raw=options["budget"][:30]))
    found = lifecycle.create_campaign(ctx.session, name=name, segment=segment, message_en=message_en,
                                      message_zh=message_zh, starts_at=starts_at, ends_at=ends_at, budget=budget,
                                      created_by=ctx.actor, now=ctx.now)
    ctx.audit("campaign.create", campaign_id=found.id, name=name, segment=segment.text, budget=budget,
              starts_at=starts_at, ends_at=ends_at)
    audience = segments.audience(ctx.session, segment)
    quoted = _quoted(name)
    return Reply(text=ctx.t("Created campaign “{name}” (draft). {n:,} customers would receive it today.", name=name,
                            n=audience.reachable),
                 fields=[(ctx.t("Segment"), segment.text), (ctx.t("Runs"), _window(ctx, found)),
                         (ctx.t("Budget"), money(budget))],
                 buttons=[Button(ctx.t("Preview"), f"campaign preview {quoted}"),
                          Button(ctx.t("Send…"), f"campaign send {quoted}", style="primary")])


# ---------------------------------------------------------------- preview


def _preview(ctx) -> Reply:
    ctx.require("campaign.manage")
    name, _ = _name_after_sub(ctx)
    found = _load(ctx, name)
    segment = _segment(ctx, found)
    audience = segments.audience(ctx.session, segment)
    people = segments.sample(ctx.session, segment, 5)
    labels = customer_labels(ctx.session, people)
    sections = [Section(ctx.t("Sample"), items=[Item(labels[c.id] + f" · {c.language}") for c in people]
                        or [Item(ctx.t("nobody yet"))])]
    for lang, label in (("en", ctx.t("Message (English)")), ("zh", ctx.t("Message (Chinese)"))):
        sections.append(Section(label, text=lifecycle.message_for(found, lang)))
    buttons = []
    if found.status == "draft":
        buttons.append(Button(ctx.t("Send…"), f"campaign send {_quoted(found.name)}", style="primary"))
    return Reply(text=ctx.t("Campaign “{name}” ({status}): {n:,} customers would receive it now.", name=found.name,
                            status=_status(ctx, found), n=audience.reachable),
                 fields=[(ctx.t("Segment"), found.segment), (ctx.t("Runs"), _window(ctx, found))]
                 + _audience_fields(ctx, audience),
                 sections=sections, buttons=buttons)


# ---------------------------------------------------------------- send


def _after_commit(session, callback) -> None:
    event.listen(session, "after_commit", lambda _s: callback(), once=True)


def _send(ctx) -> Reply:
    ctx.require("campaign.send")
    name, confirm = _name_after_sub(ctx, drop_confirm=True)
    found = _load(ctx, name)
    if found.status != "draft":
        counts = lifecycle.status_counts(ctx.session, found.id)
        done = sum(n for s, n in counts.items() if s in lifecycle.FINAL_STATUSES)
        if found.status == "sending":
            return Reply.fail(ctx.t("“{name}” is already {status}: {done:,} of {total:,} recipients done. "
                                    "`/crm campaign report {q}` shows the figures.", name=found.name, q=_quoted(found.name),
                                    status=_status(ctx, found), done=done, total=sum(counts.values())))
        return Reply.fail(ctx.t("“{name}” was already sent ({when}); a campaign goes out once. "
                                "Create a new one for another round.",
                                name=found.name, when=ctx.fmt(found.sent_at)))
    if found.ends_at is not None and found.ends_at <= ctx.now:
        return Reply.fail(ctx.t("“{name}” ended {when}; nothing was sent. Create a new campaign with a later end.",
                                name=found.name, when=ctx.fmt(found.ends_at)))
    segment = _segment(ctx, found)
    audience = segments.audience(ctx.session, segment)
    if audience.reachable == 0:
        return Reply.fail(ctx.t("Nobody in “{name}”'s segment can be messaged right now (no Telegram chat, opted "
                                "out or blocked), so nothing was sent.",
                                name=found.name))
    scheduled = found.starts_at is not None and found.starts_at > ctx.now
    if not confirm:
        when = ctx.t("at its start, {start}", start=ctx.fmt(found.starts_at)) if scheduled \
            else ctx.t("now")
        question = ctx.t("Send “{name}” to {n:,} customers {when}? This cannot be undone.", name=found.name,
                         n=audience.reachable, when=when)
        return Reply(text=ctx.t("Ready to send “{name}” to {n:,} customers ({duration}). Press the button to confirm.", name=found.name,
                                n=audience.reachable, duration=_duration(ctx, audience.reachable)),
                     fields=_audience_fields(ctx, audience),
                     buttons=[Button(ctx.t("Send to {n:,} customers", n=audience.reachable),
                                     f"campaign send {_quoted(found.name)} confirm", style="danger",
                                     confirm=question)])
    count = lifecycle.begin_sending(ctx.session, found, segment, ctx.now)
    if count is None:
        return Reply.fail(ctx.t("“{name}” is already being sent (someone confirmed it a moment ago).", name=found.name))
    ctx.audit("campaign.send", campaign_id=found.id, name=found.name, recipients=count)
    runner = ctx.ports.campaign_runner
    if runner is not None and runner.enabled:
        _after_commit(ctx.session, runner.wake)
        if scheduled:
            text = ctx.t("Scheduled “{name}” for {n:,} customers: it goes out from {start}.", name=found.name, n=count,
                         start=ctx.fmt(found.starts_at))
        else:
            text = ctx.t("Sending “{name}” to {n:,} customers now ({duration}).", name=found.name, n=count,
                         duration=_duration(ctx, count))
    else:
        text = ctx.t("Queued “{name}” for {n:,} customers. It goes out as soon as the bot runs with Telegram "
                     "connected (TELEGRAM_BOT_TOKEN).",
                     name=found.name, n=count)
    return Reply(text=text + ctx.t(" `/crm campaign report {q}` shows progress.",
                                   q=_quoted(found.name)),
                 buttons=[Button(ctx.t("Report"), f"campaign report {_quoted(found.name)}")])


# ---------------------------------------------------------------- report


REASON_LABELS = {"blocked": N_("Blocked the bot"), "failed": N_("Failed"), "unknown": N_("Interrupted, not resent"),
                 "skipped": N_("Skipped"), "pending": N_("Still to send")}


def _report(ctx) -> Reply:
    name, _ = _name_after_sub(ctx)
    found = _load(ctx, name)
    result = results.report(ctx.session, found)
    rate = f" ({result.reply_rate:.0%})" if result.reply_rate is not None else ""
    cost = f"${result.cost_per_reply:,.2f}" if result.cost_per_reply is not None \
        else ctx.t("— (no replies yet)")
    fields = [(ctx.t("Status"), _status(ctx, found)), (ctx.t("Runs"), _window(ctx, found)),
              (ctx.t("Recipients"), f"{result.recipients:,}"),
              (ctx.t("Sent"), f"{result.attempted:,}"),
              (ctx.t("Delivered"), f"{result.delivered:,}"),
              (ctx.t("Replied"), f"{result.replied:,}{rate}"),
              (ctx.t("Deals opened within 30 days"),
               f"{result.deals:,}" + (f" · {money_totals([(v, c) for c, v in result.deal_amounts.items()], ctx.lang)}"
                                      if result.deals else "")),
              (ctx.t("Budget"), money(found.budget)),
              (ctx.t("Cost per reply"), cost)]
    statuses = dict(result.statuses)
    statuses["pending"] = result.pending
    losses = [(ctx.t(REASON_LABELS[s]), f"{statuses[s]:,}") for s in REASON_LABELS if statuses.get(s)]
    sections = [Section(ctx.t("Not delivered (yet)"), fields=losses)] if losses else []
    reasons = _top_reasons(ctx, found.id)
    if reasons:
        sections.append(Section(ctx.t("Most common reasons"),
                                items=[Item(f"{n:,} × {reason}") for reason, n in reasons]))
    reply = Reply(text=ctx.t("Campaign “{name}”: {d:,} delivered, {r:,} replied.", name=found.name, d=result.delivered,
                             r=result.replied),
                  fields=fields, sections=sections)
    if result.recipients:
        from crm.campaigns.chart import render_campaign_chart

        reply.image_path = str(render_campaign_chart(result, today=ctx.now.astimezone(ctx.settings.zone).date()))
    return reply


def _top_reasons(ctx, campaign_id: int) -> list[tuple[str, int]]:
    R = CampaignRecipient
    rows = ctx.session.exec(select(R.error, func.count()).where(
        R.campaign_id == campaign_id, col(R.status).in_(("failed", "unknown", "skipped")),
        col(R.error).is_not(None)).group_by(R.error).order_by(func.count().desc()).limit(3)).all()
    return [(reason, int(n)) for reason, n in rows]


# ---------------------------------------------------------------- list


def _list(ctx) -> Reply:
    rows = ctx.session.exec(select(Campaign).order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())
                            .limit(20)).all()
    if not rows:
        return Reply(text=ctx.t("No campaigns yet. Create one with `/crm campaign new \"<name>\" segment=… end=… "
                                "en=\"…\"`."))
    items = []
    for row in rows:
        counts = lifecycle.status_counts(ctx.session, row.id)
        items.append(Item(f"{row.name} · {_status(ctx, row)} · {_window(ctx, row)} · "
                          + ctx.t("{n:,} recipients", n=sum(counts.values())),
                          [Button(ctx.t("Report"), f"campaign report {_quoted(row.name)}")]))
    return Reply(text=ctx.t("Campaigns, newest first:"), items=items)
