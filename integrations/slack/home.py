"""What the App Home tab shows a staff member: their follow-ups, their quiet customers, and
(when the insights capability is installed) who to contact next.

Follow-ups and recommendations are the engine's own `tasks` and `next` replies, run as the
viewer, so the Home shows exactly what the commands would. Blocking: call in a thread.
"""
from __future__ import annotations

from bot.cards import customer_label
from bot.engine import UNKNOWN_USER
from bot.identity import find_staff
from bot.messages import IncomingMessage
from bot.replies import Button, Item, Reply
from crm.customers import quiet_customers
from crm.i18n import days_ago

QUIET_DAYS = 30
QUIET_LIMIT = 10

TITLES = {
    "en": ("Your open follow-ups", "Your customers not contacted in {d}+ days", "Recommended next",
           "Nobody is waiting: every customer of yours heard from us in the last {d} days."),
    "zh": ("我的待办跟进", "超过 {d} 天未联系的客户", "推荐联系", "你的客户在最近 {d} 天内都已联系过。"),
}


def build_home(app, user_id: str, email: str | None, known: bool) -> list[tuple[str, Reply]]:
    if not known:
        return [("CRM", Reply(text=UNKNOWN_USER))]
    engine = app.engine

    def run(line: str) -> Reply:
        return engine.handle(IncomingMessage(platform="slack", user_id=user_id, text=line, user_email=email))

    with app.db.session() as session:
        staff = find_staff(session, "slack", user_id)
        if staff is None:
            return [("CRM", Reply(text=UNKNOWN_USER))]
        lang = "zh" if staff.language == "zh" else "en"
        tasks_title, quiet_title, next_title, all_fresh = TITLES[lang]
        now = engine.clock()
        quiet = quiet_customers(session, staff, now=now, days=QUIET_DAYS, limit=QUIET_LIMIT)
        quiet_items = [Item(f"{customer_label(session, c)} · {_since(c.last_contact_at, now, lang)}",
                            [Button("Show" if lang == "en" else "查看", f"show #{c.id}"),
                             Button("Log interaction" if lang == "en" else "记录互动", f"log #{c.id}", form="log")])
                       for c in quiet]
    parts = [(tasks_title, run("tasks"))]
    parts.append((quiet_title.format(d=QUIET_DAYS),
                  Reply(text="", items=quiet_items) if quiet_items else Reply(text=all_fresh.format(d=QUIET_DAYS))))
    parts.append((next_title, run("next")))
    return parts


def _since(moment, now, lang: str) -> str:
    if moment is None:
        return "never contacted" if lang == "en" else "从未联系"
    days = (now - moment).days
    return f"last contact {days_ago(lang, days)}" if lang == "en" else f"{days_ago(lang, days)}联系"
