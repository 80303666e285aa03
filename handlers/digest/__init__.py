"""`/crm digest`: preview today's digest now, or subscribe to the personal morning digest.

The digest itself is built here too (``build``, ``data``, ``insight_feed``, ``chart``): the command
previews exactly what the scheduler sends at DIGEST_TIME; the scheduler only decides when and to whom.
"""
from __future__ import annotations

from bot.registry import command
from bot.replies import Reply
from bot.voice import Voice
from crm import audit
from crm.staff import set_digest_subscription
from handlers.digest.build import build_digest

USAGE = "digest [subscribe|unsubscribe]"


@command("digest", usage=USAGE, summary="preview the daily digest now, or subscribe to it", group="Insights",
         details="Managers get their team's digest every day at DIGEST_TIME in their own time zone. "
                 "Reps may subscribe to a personal morning digest of their own follow-ups, deals and customers.",
         examples=["digest", "digest subscribe", "digest unsubscribe"])
def digest(ctx) -> Reply:
    word = ctx.command.args[0].lower() if ctx.command.tokens else ""
    if len(ctx.command.tokens) > 1 or word not in ("", "subscribe", "unsubscribe", "订阅", "取消订阅"):
        raise ctx.fail(ctx.t("`/crm digest` shows your digest now; `/crm digest subscribe` or `unsubscribe` "
                             "switches the daily one on or off."))
    if word in ("subscribe", "订阅"):
        return _subscribe(ctx, True)
    if word in ("unsubscribe", "取消订阅"):
        return _subscribe(ctx, False)
    kind = "manager" if ctx.actor.role in ("manager", "admin") else "personal"
    reply = build_digest(ctx.session, ctx.actor, kind, Voice(ctx.actor, ctx.settings, ctx.now))
    reply.text = ctx.t("Preview — ") + reply.text
    return reply


def _subscribe(ctx, on: bool) -> Reply:
    at = ctx.t("{time} your time ({zone})", time=ctx.settings.digest_time,
               zone=ctx.tz.key)
    if ctx.actor.role == "manager":
        return Reply(text=ctx.t("As a manager you get your team's digest every day at {at}; it cannot be switched "
                                "off. `/crm digest` shows it now.", at=at))
    if ctx.actor.digest_subscribed == on:
        return Reply(text=ctx.t("You were already {state}.",
                                state=ctx.t("subscribed") if on else ctx.t("unsubscribed")))
    set_digest_subscription(ctx.session, ctx.actor, on)
    audit.record(ctx.session, "digest.subscribe" if on else "digest.unsubscribe", actor=ctx.actor,
                 platform=ctx.message.platform)
    if on:
        admin = ctx.actor.role == "admin"
        what = ctx.t("your team's") if admin else ctx.t("your personal")
        return Reply(text=ctx.t("Subscribed: {what} digest arrives every day at {at}. `/crm digest` shows it now.", what=what, at=at))
    return Reply(text=ctx.t("Unsubscribed: no more daily digests. `/crm digest` still shows one when you ask."))
