"""Finding and changing customers: the queries every handler shares."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from crm.errors import Ambiguous, NotFound, UserError
from crm.i18n import N_
from crm.models import Company, Customer, Staff
from crm.search import refresh_search_text, search_customers
from crm.types import utcnow

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def phone_key(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-15:] if len(digits) >= 6 else None


def resolve_customer(session: Session, ref: str, *, quoted: bool = False) -> Customer:
    """A customer named by `#id`, a quoted full name, or one word of name, company or email.

    Never guesses: several plausible matches raise ``Ambiguous`` with the candidates (and the
    reference as typed, so the question can offer to rerun the command on each).
    """
    try:
        return _resolve_customer(session, ref, quoted=quoted)
    except Ambiguous as err:
        err.ref = ref.strip()
        raise


def _resolve_customer(session: Session, ref: str, *, quoted: bool = False) -> Customer:
    ref = ref.strip()
    if not ref:
        raise UserError("Name a customer: a quoted name, one word of their name or company, or #id.")
    if ref.startswith("#") and ref[1:].isdigit() and len(ref) <= 19:  # 18 digits fit a 64-bit id
        customer = session.get(Customer, int(ref[1:]))
        if customer is None or customer.forgotten_at is not None:
            raise NotFound("There is no customer {ref}.", ref=ref)
        return customer
    key = ref.casefold()
    live = col(Customer.forgotten_at).is_(None)
    exact = session.exec(select(Customer).where(Customer.name_key == key, live).limit(6)).all()
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise _ambiguous(session, N_("{n} customers are called “{ref}”."), exact, n=len(exact), ref=ref)
    if "@" in ref:
        by_email = session.exec(select(Customer).where(func.lower(Customer.email) == key, live).limit(6)).all()
        if len(by_email) == 1:
            return by_email[0]
    hits = search_customers(session, ref, limit=8)
    # a match on the customer's own name beats a match on their company or email
    by_name = [c for c, s in hits if s >= 88]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise _ambiguous(session, N_("“{ref}” matches several customers."), by_name, ref=ref)
    company = session.exec(select(Company).where(func.lower(Company.name) == key)).first()
    if company is not None:
        staff_at = session.exec(select(Customer).where(Customer.company_id == company.id, live).limit(8)).all()
        if len(staff_at) == 1:
            return staff_at[0]
        if staff_at:
            raise _ambiguous(session, N_("{company} has several contacts."), staff_at, company=company.name)
    strong = [c for c, s in hits if s >= 80]
    if len(strong) == 1:
        return strong[0]
    if len(strong) > 1:
        raise _ambiguous(session, N_("“{ref}” matches several customers."), strong, ref=ref)
    if hits:
        raise _ambiguous(session, N_("No customer is called “{ref}”. Did you mean one of these?"),
                         [c for c, _ in hits], ref=ref)
    raise NotFound("No customer matches “{ref}”. Try `/crm find {short}` or add them with `/crm add \"{name}\"`.",
                   ref=ref, short=ref[:20], name=ref[:40])


def _ambiguous(session: Session, message: str, customers: list[Customer], **values) -> Ambiguous:
    """Candidates as plain (id, label) pairs: they outlive the rolled-back session."""
    labels = []
    for c in customers[:8]:
        company = company_name(session, c)
        labels.append((c.id, f"#{c.id} {c.name}" + (f" · {company}" if company else "")))
    return Ambiguous(message, labels, **values)


def resolve_staff(session: Session, ref: str) -> Staff:
    """`@U123` (Slack id), `@name`, a name or an email."""
    ref = ref.strip().lstrip("@")
    if not ref:
        raise UserError("Name a colleague: @name, their Slack mention or email.")
    stmt = select(Staff).where(col(Staff.active).is_(True))
    for cond in (Staff.slack_user_id == ref, func.lower(Staff.name) == ref.lower(),
                 func.lower(Staff.email) == ref.lower()):
        found = session.exec(stmt.where(cond)).first()
        if found:
            return found
    # a first name: "@max" is "Max Manager". The reference is a literal, never a pattern (an escaped
    # LIKE would still depend on the dialect's ESCAPE handling, so the prefix is compared in Python)
    prefix = ref.lower() + " "
    first_names = [s for s in session.exec(stmt).all() if (s.name or "").lower().startswith(prefix)]
    if len(first_names) == 1:
        return first_names[0]
    raise NotFound("No colleague called “{ref}”. An admin can add them with `crm-bot staff add`.", ref=ref)


def get_or_create_company(session: Session, name: str | None) -> Company | None:
    name = (name or "").strip()
    if not name:
        return None
    company = session.exec(select(Company).where(func.lower(Company.name) == name.lower())).first()
    if company is None:
        company = Company(name=name)
        session.add(company)
        session.flush()
    return company


def create_customer(session: Session, name: str, *, company: str | None = None, email: str | None = None,
                    phone: str | None = None, tier: str = "standard", stage: str = "lead",
                    owner: Staff | None = None, tags: str = "", language: str = "en",
                    telegram_chat_id: int | None = None, telegram_username: str | None = None) -> Customer:
    name = " ".join(name.split())
    if not name:
        raise UserError("A customer needs a name.")
    if email and not EMAIL.match(email):
        raise UserError("“{email}” is not an email address (expected name@example.com).", email=email)
    company_row = get_or_create_company(session, company)
    customer = Customer(name=name, company_id=company_row.id if company_row else None, email=email or None,
                        phone=phone or None, phone_key=phone_key(phone), tier=tier, stage=stage,
                        owner_id=owner.id if owner else None, tags=tags, language=language,
                        telegram_chat_id=telegram_chat_id, telegram_username=telegram_username)
    refresh_search_text(session, customer)
    session.add(customer)
    session.flush()
    return customer


_NUMBERS = re.compile(r"\d+")
DUPLICATE_NAME_SCORE = 90  # rapidfuzz token_sort_ratio: "Globex Corp." vs "globex corp", "Wang Wei" vs "Wei Wang"


def find_duplicate(session: Session, name: str, *, company: str | None = None, email: str | None = None,
                   phone: str | None = None) -> tuple[Customer, str] | None:
    """A live customer the new one is likely to be, and why: the same email, the same phone, or a
    near-identical name at the same company."""
    live = col(Customer.forgotten_at).is_(None)
    if email:
        found = session.exec(select(Customer).where(func.lower(Customer.email) == email.strip().lower(), live)
                             .order_by(Customer.id)).first()
        if found:
            return found, "email"
    key = phone_key(phone)
    if key:
        found = session.exec(select(Customer).where(Customer.phone_key == key, live).order_by(Customer.id)).first()
        if found:
            return found, "phone"
    name = " ".join((name or "").split())
    if not name:
        return None
    company_row = session.exec(select(Company).where(func.lower(Company.name) == company.strip().lower())).first() \
        if company and company.strip() else None
    if company_row is not None:
        peers = session.exec(select(Customer).where(Customer.company_id == company_row.id, live)
                             .order_by(Customer.id).limit(500)).all()
        for peer in peers:
            if names_look_alike(name, peer.name):
                return peer, "name"
    return None  # a name alone, with no company to compare, is too weak a sign: two "Wang Wei" are common


def names_look_alike(a: str, b: str) -> bool:
    """Two names at the same company that are likely one person: near-identical (rapidfuzz
    token_sort_ratio >= DUPLICATE_NAME_SCORE, so "Wang Wei" is "Wei Wang") and with the same numbers
    (numbers tell records apart: "Store 12" / "Store 21", "Person 1" / "Person 13")."""
    from rapidfuzz import fuzz

    a, b = " ".join(a.split()).casefold(), " ".join(b.split()).casefold()
    return _NUMBERS.findall(a) == _NUMBERS.findall(b) and fuzz.token_sort_ratio(a, b) >= DUPLICATE_NAME_SCORE


def touch(customer: Customer) -> None:
    customer.updated_at = utcnow()


def company_name(session: Session, customer: Customer) -> str | None:
    if customer.company_id is None:
        return None
    company = session.get(Company, customer.company_id)
    return company.name if company else None


def quiet_customers(session: Session, owner: Staff, *, now: datetime, days: int, limit: int) -> list[Customer]:
    """The owner's customers nobody has contacted for ``days`` days (never contacted first), oldest
    contact first; erased and churned customers are left out."""
    cutoff = now - timedelta(days=days)
    return list(session.exec(
        select(Customer)
        .where(Customer.owner_id == owner.id, col(Customer.forgotten_at).is_(None), Customer.stage != "churned",
               or_(col(Customer.last_contact_at).is_(None), col(Customer.last_contact_at) < cutoff))
        .order_by(col(Customer.last_contact_at).is_(None).desc(), col(Customer.last_contact_at))
        .limit(limit)).all())


def reassign_customer(session: Session, customer: Customer, *, owner: Staff) -> None:
    """``owner`` now owns the customer (the caller checked that they may)."""
    customer.owner_id = owner.id
    touch(customer)
    session.add(customer)
