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
from bot.voice import staff_language
from crm.customers import quiet_customers
from crm.i18n import days_ago, gettext

QUIET_DAYS = 30
QUIET_LIMIT = 10




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
        lang = staff_language(staff, app.settings)
        tasks_title = gettext(lang, "Your open follow-ups")
        quiet_title = gettext(lang, "Your customers not contacted in {d}+ days", d=QUIET_DAYS)
        next_title = gettext(lang, "Recommended next")
        all_fresh = gettext(lang, "Nobody is waiting: every customer of yours heard from us in the last {d} days.",
                            d=QUIET_DAYS)
        now = engine.clock()
        quiet = quiet_customers(session, staff, now=now, days=QUIET_DAYS, limit=QUIET_LIMIT)
        quiet_items = [Item(f"{customer_label(session, c)} · {_since(c.last_contact_at, now, lang)}",
                            [Button(gettext(lang, "Show"), f"show #{c.id}"),
                             Button(gettext(lang, "Log interaction"), f"log #{c.id}", form="log")])
                       for c in quiet]
    parts = [(tasks_title, run("tasks"))]
    parts.append((quiet_title, Reply(text="", items=quiet_items) if quiet_items else Reply(text=all_fresh)))
    parts.append((next_title, run("next")))
    return parts


def _since(moment, now, lang: str) -> str:
    if moment is None:
        return gettext(lang, "never contacted")
    return gettext(lang, "last contact {when}", when=days_ago(lang, (now - moment).days))
