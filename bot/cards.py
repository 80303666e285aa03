"""The customer card, shared by `show`, `add` and the Telegram inbox thread."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.replies import Button, Item, Reply, Section
from crm.customers import company_name
from crm.i18n import day_month, format_money, gettext
from crm.labels import direction_label, kind_label, stage_label, tier_label
from crm.models import OPEN_DEAL_STAGES, Company, Customer, Deal, Interaction, Staff, Task

KIND_ICON = {"call": "📞", "email": "✉️", "meeting": "🤝", "chat": "💬", "note": "📝", "message": "💬"}


def owner_label(session: Session, customer: Customer, lang: str = "en") -> str:
    owner = session.get(Staff, customer.owner_id) if customer.owner_id else None
    return owner.name if owner else gettext(lang, "unassigned")


def customer_label(session: Session, customer: Customer, lang: str = "en") -> str:
    """How a customer is named in every reply: name, company, owner."""
    company = company_name(session, customer)
    parts = [f"{customer.name} (#{customer.id})"]
    if company and company.casefold() != customer.name.casefold():
        parts.append(company)
    parts.append(gettext(lang, "owner {name}", name=owner_label(session, customer, lang)))
    return " · ".join(parts)


def customer_labels(session: Session, customers: list[Customer], lang: str = "en") -> dict[int, str]:
    """``customer_label`` for many customers in two queries."""
    company_ids = {c.company_id for c in customers if c.company_id}
    owner_ids = {c.owner_id for c in customers if c.owner_id}
    companies = dict(session.exec(select(Company.id, Company.name).where(col(Company.id).in_(company_ids))).all()) \
        if company_ids else {}
    owners = dict(session.exec(select(Staff.id, Staff.name).where(col(Staff.id).in_(owner_ids))).all()) \
        if owner_ids else {}
    labels = {}
    for c in customers:
        parts = [f"{c.name} (#{c.id})"]
        company = companies.get(c.company_id)
        if company and company.casefold() != c.name.casefold():
            parts.append(company)
        owner = owners.get(c.owner_id) or gettext(lang, "unassigned")
        parts.append(gettext(lang, "owner {name}", name=owner))
        labels[c.id] = " · ".join(parts)
    return labels


def money(amount: float, currency: str = "USD", lang: str = "en") -> str:
    """Babel's CLDR formats: "$12,000", "CN¥50,000"; "US$12,000", "¥50,000" in Chinese."""
    return format_money(amount, currency, lang)


def customer_card(session: Session, customer: Customer, fmt, *, public: bool = False, lang: str = "en") -> Reply:
    """``fmt`` formats a datetime for the reader (their zone and language)."""
    def t(en: str) -> str:
        return gettext(lang, en)

    company = company_name(session, customer)
    fields = [(t("Company"), company or "—"), (t("Owner"), owner_label(session, customer, lang)),
              (t("Tier"), tier_label(customer.tier, lang)), (t("Stage"), stage_label(customer.stage, lang)),
              (t("Email"), customer.email or "—"), (t("Phone"), customer.phone or "—"),
              (t("Last contact"), fmt(customer.last_contact_at))]
    if customer.telegram_chat_id:
        fields.append(("Telegram", "@" + customer.telegram_username if customer.telegram_username else t("linked")))
    if customer.tags:
        fields.append((t("Tags"), customer.tags))
    sections = []
    recent = session.exec(select(Interaction).where(Interaction.customer_id == customer.id)
                          .order_by(col(Interaction.occurred_at).desc()).limit(5)).all()
    if recent:
        sections.append(Section(t("Recent interactions"), items=[
            Item(f"{KIND_ICON.get(i.kind, '•')} {fmt(i.occurred_at)} · {kind_label(i.kind, lang)} "
                 f"{direction_label(i.direction, lang)} · {_clip(i.text, 140)}") for i in recent]))
    tasks = session.exec(select(Task).where(Task.customer_id == customer.id, Task.status == "open")
                         .order_by(Task.due_at).limit(5)).all()
    if tasks:
        sections.append(Section(t("Open follow-ups"), items=[task_item(x, fmt, lang=lang) for x in tasks]))
    deals = session.exec(select(Deal).where(Deal.customer_id == customer.id,
                                            col(Deal.stage).in_(OPEN_DEAL_STAGES))
                         .order_by(col(Deal.amount).desc()).limit(5)).all()
    if deals:
        sections.append(Section(t("Open deals"), items=[
            Item(f"{money(d.amount, d.currency, lang)} · {stage_label(d.stage, lang)}" + (f" · {d.title}" if d.title else "")
                 + (gettext(lang, " · close {day}", day=day_month(d.expected_close, lang))
                    if d.expected_close else "")) for d in deals]))
    buttons = [Button(t("Log interaction"), f"log #{customer.id}", style="primary", form="log"),
               Button(t("Add follow-up"), f"remind #{customer.id}", form="remind")]
    title = f"{customer.name}" + (f" · {company}" if company and company.casefold() != customer.name.casefold() else "")
    return Reply(text=title, fields=fields, sections=sections, buttons=buttons, public=public)


def task_item(task: Task, fmt, now: datetime | None = None, lang: str = "en") -> Item:
    overdue = now is not None and task.due_at < now
    flag = gettext(lang, "⚠️ overdue · ") if overdue else ""
    label = f"{flag}#{task.id} {fmt(task.due_at)} · {_clip(task.title, 120)}"
    return Item(label, [Button(gettext(lang, "Done"), f"done #{task.id}", style="primary"),
                        Button(gettext(lang, "Snooze"), f"snooze #{task.id}", form="snooze")])



def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
