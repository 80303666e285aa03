"""The customer card, shared by `show`, `add` and the Telegram inbox thread."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.replies import Button, Item, Reply, Section
from crm.customers import company_name
from crm.models import OPEN_DEAL_STAGES, Company, Customer, Deal, Interaction, Staff, Task

KIND_ICON = {"call": "📞", "email": "✉️", "meeting": "🤝", "chat": "💬", "note": "📝", "message": "💬"}


def owner_label(session: Session, customer: Customer) -> str:
    owner = session.get(Staff, customer.owner_id) if customer.owner_id else None
    return owner.name if owner else "unassigned"


def customer_label(session: Session, customer: Customer) -> str:
    """How a customer is named in every reply: name, company, owner."""
    company = company_name(session, customer)
    parts = [f"{customer.name} (#{customer.id})"]
    if company and company.casefold() != customer.name.casefold():
        parts.append(company)
    parts.append(f"owner {owner_label(session, customer)}")
    return " · ".join(parts)


def customer_labels(session: Session, customers: list[Customer]) -> dict[int, str]:
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
        parts.append(f"owner {owners.get(c.owner_id, 'unassigned')}")
        labels[c.id] = " · ".join(parts)
    return labels


def money(amount: float, currency: str = "USD") -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥"}.get(currency, currency + " ")
    return f"{symbol}{amount:,.0f}"


def customer_card(session: Session, customer: Customer, fmt, *, public: bool = False) -> Reply:
    """``fmt`` formats a datetime for the reader (their zone and language)."""
    company = company_name(session, customer)
    fields = [("Company", company or "—"), ("Owner", owner_label(session, customer)),
              ("Tier", customer.tier), ("Stage", customer.stage),
              ("Email", customer.email or "—"), ("Phone", customer.phone or "—"),
              ("Last contact", fmt(customer.last_contact_at))]
    if customer.telegram_chat_id:
        fields.append(("Telegram", "@" + customer.telegram_username if customer.telegram_username else "linked"))
    if customer.tags:
        fields.append(("Tags", customer.tags))
    sections = []
    recent = session.exec(select(Interaction).where(Interaction.customer_id == customer.id)
                          .order_by(col(Interaction.occurred_at).desc()).limit(5)).all()
    if recent:
        sections.append(Section("Recent interactions", items=[
            Item(f"{KIND_ICON.get(i.kind, '•')} {fmt(i.occurred_at)} · {i.kind} {i.direction} · "
                 f"{_clip(i.text, 140)}") for i in recent]))
    tasks = session.exec(select(Task).where(Task.customer_id == customer.id, Task.status == "open")
                         .order_by(Task.due_at).limit(5)).all()
    if tasks:
        sections.append(Section("Open follow-ups", items=[task_item(t, fmt) for t in tasks]))
    deals = session.exec(select(Deal).where(Deal.customer_id == customer.id,
                                            col(Deal.stage).in_(OPEN_DEAL_STAGES))
                         .order_by(col(Deal.amount).desc()).limit(5)).all()
    if deals:
        sections.append(Section("Open deals", items=[
            Item(f"{money(d.amount, d.currency)} · {d.stage}" + (f" · {d.title}" if d.title else "")
                 + (f" · close {d.expected_close:%d %b}" if d.expected_close else "")) for d in deals]))
    buttons = [Button("Log interaction", f"log #{customer.id}", style="primary", form="log"),
               Button("Add follow-up", f"remind #{customer.id}", form="remind")]
    title = f"{customer.name}" + (f" · {company}" if company and company.casefold() != customer.name.casefold() else "")
    return Reply(text=title, fields=fields, sections=sections, buttons=buttons, public=public)


def task_item(task: Task, fmt, now: datetime | None = None) -> Item:
    overdue = now is not None and task.due_at < now
    label = f"{'⚠️ overdue · ' if overdue else ''}#{task.id} {fmt(task.due_at)} · {_clip(task.title, 120)}"
    return Item(label, [Button("Done", f"done #{task.id}", style="primary"),
                        Button("Snooze", f"snooze #{task.id}", form="snooze")])


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
