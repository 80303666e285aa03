"""The customer card, shared by `show`, `add` and the Telegram inbox thread."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.replies import Button, Item, Reply, Section
from crm.customers import company_name
from crm.models import OPEN_DEAL_STAGES, Company, Customer, Deal, Interaction, Staff, Task

from crm.i18n import format_money

KIND_ZH = {"call": "电话", "email": "邮件", "meeting": "会议", "chat": "聊天", "note": "备注", "message": "消息"}
DIRECTION_ZH = {"inbound": "来自客户", "outbound": "联系客户", "internal": "内部"}
STAGE_ZH = {"lead": "线索", "prospect": "潜在", "active": "活跃", "churned": "流失", "qualified": "合格", "proposal": "报价",
            "negotiation": "谈判", "won": "赢单", "lost": "输单"}
TIER_ZH = {"standard": "标准", "silver": "银", "gold": "金", "vip": "VIP"}


def _zh(table: dict, word: str, lang: str) -> str:
    return table.get(word, word) if lang == "zh" else word


KIND_ICON = {"call": "📞", "email": "✉️", "meeting": "🤝", "chat": "💬", "note": "📝", "message": "💬"}


def owner_label(session: Session, customer: Customer, lang: str = "en") -> str:
    owner = session.get(Staff, customer.owner_id) if customer.owner_id else None
    return owner.name if owner else ("未分配" if lang == "zh" else "unassigned")


def customer_label(session: Session, customer: Customer, lang: str = "en") -> str:
    """How a customer is named in every reply: name, company, owner."""
    company = company_name(session, customer)
    parts = [f"{customer.name} (#{customer.id})"]
    if company and company.casefold() != customer.name.casefold():
        parts.append(company)
    parts.append(("负责人 " if lang == "zh" else "owner ") + owner_label(session, customer, lang))
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
        owner = owners.get(c.owner_id) or ("未分配" if lang == "zh" else "unassigned")
        parts.append(("负责人 " if lang == "zh" else "owner ") + owner)
        labels[c.id] = " · ".join(parts)
    return labels


def money(amount: float, currency: str = "USD", lang: str = "en") -> str:
    """Babel's CLDR formats: "$12,000", "CN¥50,000"; "US$12,000", "¥50,000" in Chinese."""
    return format_money(amount, currency, lang)


def customer_card(session: Session, customer: Customer, fmt, *, public: bool = False, lang: str = "en") -> Reply:
    """``fmt`` formats a datetime for the reader (their zone and language)."""
    zh = lang == "zh"

    def t(en: str, zh_: str) -> str:
        return zh_ if zh else en

    company = company_name(session, customer)
    fields = [(t("Company", "公司"), company or "—"), (t("Owner", "负责人"), owner_label(session, customer, lang)),
              (t("Tier", "级别"), _zh(TIER_ZH, customer.tier, lang)), (t("Stage", "阶段"), _zh(STAGE_ZH, customer.stage, lang)),
              (t("Email", "邮箱"), customer.email or "—"), (t("Phone", "电话"), customer.phone or "—"),
              (t("Last contact", "最近联系"), fmt(customer.last_contact_at))]
    if customer.telegram_chat_id:
        fields.append(("Telegram", "@" + customer.telegram_username if customer.telegram_username else t("linked", "已绑定")))
    if customer.tags:
        fields.append((t("Tags", "标签"), customer.tags))
    sections = []
    recent = session.exec(select(Interaction).where(Interaction.customer_id == customer.id)
                          .order_by(col(Interaction.occurred_at).desc()).limit(5)).all()
    if recent:
        sections.append(Section(t("Recent interactions", "最近互动"), items=[
            Item(f"{KIND_ICON.get(i.kind, '•')} {fmt(i.occurred_at)} · {_zh(KIND_ZH, i.kind, lang)} "
                 f"{_zh(DIRECTION_ZH, i.direction, lang)} · {_clip(i.text, 140)}") for i in recent]))
    tasks = session.exec(select(Task).where(Task.customer_id == customer.id, Task.status == "open")
                         .order_by(Task.due_at).limit(5)).all()
    if tasks:
        sections.append(Section(t("Open follow-ups", "待办跟进"), items=[task_item(x, fmt, lang=lang) for x in tasks]))
    deals = session.exec(select(Deal).where(Deal.customer_id == customer.id,
                                            col(Deal.stage).in_(OPEN_DEAL_STAGES))
                         .order_by(col(Deal.amount).desc()).limit(5)).all()
    if deals:
        sections.append(Section(t("Open deals", "进行中的商机"), items=[
            Item(f"{money(d.amount, d.currency, lang)} · {_zh(STAGE_ZH, d.stage, lang)}" + (f" · {d.title}" if d.title else "")
                 + ((f" · 预计 {d.expected_close.month}月{d.expected_close.day}日成交" if zh
                     else f" · close {d.expected_close:%d %b}") if d.expected_close else "")) for d in deals]))
    buttons = [Button(t("Log interaction", "记录互动"), f"log #{customer.id}", style="primary", form="log"),
               Button(t("Add follow-up", "添加跟进"), f"remind #{customer.id}", form="remind")]
    title = f"{customer.name}" + (f" · {company}" if company and company.casefold() != customer.name.casefold() else "")
    return Reply(text=title, fields=fields, sections=sections, buttons=buttons, public=public)


def task_item(task: Task, fmt, now: datetime | None = None, lang: str = "en") -> Item:
    overdue = now is not None and task.due_at < now
    flag = ("⚠️ 已逾期 · " if lang == "zh" else "⚠️ overdue · ") if overdue else ""
    label = f"{flag}#{task.id} {fmt(task.due_at)} · {_clip(task.title, 120)}"
    return Item(label, [Button("完成" if lang == "zh" else "Done", f"done #{task.id}", style="primary"),
                        Button("推迟" if lang == "zh" else "Snooze", f"snooze #{task.id}", form="snooze")])


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
