"""`/crm staff`: the team directory for everyone; adding, changing and deactivating staff for admins."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlmodel import col, select

from bot.registry import command
from bot.replies import Button, Item, Reply, mention
from crm.customers import resolve_staff
from crm.models import ROLES, Customer, Staff
from crm.staff import add_staff, save_staff, set_active

USAGE = 'staff [add "Name" role=rep|manager|admin … | set @who option=… | deactivate @who | activate @who]'
DETAILS = ("Options for add and set: role=rep|manager|admin, email=…, slack=@U… (the Slack member id), "
           "telegram=<numeric user id>, timezone=Area/City, manager=@colleague, language=en|zh. "
           "A colleague added with only an email is linked to their Slack account the first time they use /crm.")
OPTIONS = frozenset({"role", "email", "slack", "telegram", "timezone", "manager", "language"})


@command("staff", usage=USAGE, summary="the team: who is who; admins add, change and deactivate staff",
         group="Team", details=DETAILS, examples=["staff", 'staff add "Carol Diaz" role=rep email=carol@example.com manager=@maria',
                                 "staff set @bob role=manager", "staff deactivate @bob"])
def staff(ctx) -> Reply:
    action = ctx.command.tokens[0].value.lower() if ctx.command.tokens else "list"
    if action == "list":
        return _directory(ctx)
    if action not in ("add", "set", "deactivate", "activate"):
        raise ctx.fail(ctx.t("`{a}` is not something `/crm staff` does: use add, set, deactivate or activate.", a=action[:30]))
    ctx.require("staff.manage")
    ctx.command.tokens = ctx.command.tokens[1:]
    return {"add": _add, "set": _set, "deactivate": _deactivate, "activate": _activate}[action](ctx)


def _directory(ctx) -> Reply:
    people = ctx.session.exec(select(Staff).order_by(col(Staff.active).desc(), Staff.name)).all()
    names = {p.id: p.name for p in people}
    owned = dict(ctx.session.exec(select(Customer.owner_id, func.count()).group_by(Customer.owner_id)).all())
    items = []
    for p in people:
        # in the reader's language like every other reply; the role stays the word `/crm staff set` takes
        details = [p.role, ctx.t("reports to {name}", name=names[p.manager_id]) if p.manager_id in names
                   else None, p.timezone, p.email,
                   f"Slack {mention(p.name, p.slack_user_id)}" if p.slack_user_id else None,
                   ctx.plural(owned.get(p.id, 0), "{n} customer", "{n} customers"),
                   None if p.active else ctx.t("inactive")]
        items.append(Item(f"{p.name} (#{p.id}): " + " · ".join(d for d in details if d)))
    return Reply(text=ctx.t("{n} staff members.", n=len(people)), items=items)


def _values(ctx, options: dict[str, str]) -> dict:
    """Checked column values from the options; every mistake is reported before anything changes."""
    values: dict = {}
    if "role" in options:
        role = options["role"].lower()
        if role not in ROLES:
            raise ctx.fail(ctx.t("role must be one of {allowed} (got “{got}”).",
                                 allowed=", ".join(ROLES), got=role[:20]))
        values["role"] = role
    if "email" in options:
        email = options["email"].strip()
        if email and ("@" not in email or len(email) > 254):
            raise ctx.fail(ctx.t("“{email}” is not an email address.", email=email[:60]))
        values["email"] = email or None
    if "slack" in options:
        slack_id = options["slack"].strip().lstrip("@")
        if slack_id and not (slack_id[0] in "UW" and slack_id.isalnum() and len(slack_id) <= 32):
            raise ctx.fail(ctx.t("slack= is the member's Slack id, like @U024BE7LH (in Slack: profile → ⋮ → Copy member ID)."))
        values["slack_user_id"] = slack_id or None
    if "telegram" in options:
        telegram = options["telegram"].strip()
        if telegram and not telegram.isdigit():
            raise ctx.fail(ctx.t("telegram= is the numeric Telegram user id, e.g. telegram=123456789."))
        values["telegram_user_id"] = int(telegram) if telegram else None
    if "timezone" in options:
        try:
            ZoneInfo(options["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ctx.fail(ctx.t("“{zone}” is not a time zone; use a name like America/New_York or Asia/Shanghai.",
                                 zone=options["timezone"][:40])) from None
        values["timezone"] = options["timezone"]
    if "manager" in options:
        values["manager_id"] = resolve_staff(ctx.session, options["manager"]).id if options["manager"] else None
    if "language" in options:
        if options["language"] not in ("en", "zh"):
            raise ctx.fail(ctx.t("language must be en or zh."))
        values["language"] = options["language"]
    return values


def _add(ctx) -> Reply:
    options = ctx.command.take_options(OPTIONS, USAGE)
    name = " ".join(ctx.command.args).strip()
    if not name or len(name) > 120:
        raise ctx.fail(ctx.t('Give the new colleague\'s name (in quotes if it has spaces), e.g. '
                             '`/crm staff add "Carol Diaz" role=rep`.'))
    if "role" not in options:
        raise ctx.fail(ctx.t("Say which role: role=rep, role=manager or role=admin."))
    values = _values(ctx, options)
    values.setdefault("language", ctx.settings.crm_language)  # new staff read the business's language
    person = add_staff(ctx.session, name=name, timezone=ctx.settings.crm_timezone, values=values)
    ctx.audit("staff.create", name=person.name, role=person.role)
    how = (ctx.t("They can use `/crm` in Slack now.") if person.slack_user_id or person.email
           else ctx.t("Add their Slack id (slack=@U…) or email so Slack can recognise them."))
    return Reply(text=ctx.t("Added {n} (#{id}, {role}). ", n=person.name, id=person.id,
                            role=person.role) + how)


def _person(ctx, *, active: bool | None = True) -> Staff:
    if not ctx.command.tokens:
        raise ctx.fail(ctx.t("Name the colleague: @name, their Slack mention or email."))
    ref = ctx.command.tokens[0].value
    if active:
        return resolve_staff(ctx.session, ref)
    plain = ref.strip().lstrip("@").lower()
    found = ctx.session.exec(select(Staff).where(
        (Staff.slack_user_id == ref.strip().lstrip("@")) | (func.lower(Staff.name) == plain)
        | (func.lower(Staff.email) == plain))).first()
    if found is None:
        raise ctx.fail(ctx.t("No colleague called “{ref}”. `/crm staff` lists everyone.", ref=ref[:60]))
    return found


def _set(ctx) -> Reply:
    options = ctx.command.take_options(OPTIONS, USAGE)
    person = _person(ctx)
    if len(ctx.command.tokens) != 1 or not options:
        raise ctx.fail(ctx.t("Name one colleague and what to change, e.g. `/crm staff set @bob role=manager manager=@ada`."))
    values = _values(ctx, options)
    if values.get("manager_id") == person.id:
        raise ctx.fail(ctx.t("Nobody reports to themselves."))
    if person.id == ctx.actor.id and values.get("role", "admin") != "admin":
        raise ctx.fail(ctx.t("You cannot take away your own admin role; ask another admin."))
    before = {key: getattr(person, key) for key in values}
    save_staff(ctx.session, person, values)
    ctx.audit("staff.update", name=person.name, before=before, after=values)
    changed = ", ".join(f"{key}={value or '—'}" for key, value in options.items())
    return Reply(text=ctx.t("Updated {n}: {c}.", n=person.name, c=changed))


def _deactivate(ctx) -> Reply:
    person = _person(ctx)
    if person.id == ctx.actor.id:
        raise ctx.fail(ctx.t("You cannot deactivate yourself; ask another admin."))
    set_active(ctx.session, person, False)
    ctx.audit("staff.deactivate", name=person.name)
    owned = ctx.session.exec(select(func.count()).select_from(Customer).where(Customer.owner_id == person.id)).one()
    text = ctx.t("{n} can no longer use the CRM.", n=person.name)
    if owned:
        text += " " + ctx.t("They still own {k} customers: give them to someone with `/crm assign <customer> @colleague`.", k=owned)
    return Reply(text=text, buttons=[Button(ctx.t("Undo"), f'staff activate "{person.name}"')])


def _activate(ctx) -> Reply:
    person = _person(ctx, active=None)
    if person.active:
        return Reply(text=ctx.t("{n} is already active.", n=person.name))
    set_active(ctx.session, person, True)
    ctx.audit("staff.activate", name=person.name)
    return Reply(text=ctx.t("{n} can use the CRM again.", n=person.name))
