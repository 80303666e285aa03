"""CSV import of customers: good rows kept, bad rows reported by line number and skipped.

An ``external_id`` column (the customer's id in the system the file came from) is stored on the
customer; a row whose external id is already known is *matched* rather than created again, so
re-running a file is harmless, and relationship and interaction files can refer to customers by it
(``crm.bulk_import``)."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import insert
from sqlmodel import col, select

from crm.exporter import FORMULA_STARTS
from crm.customers import EMAIL, names_look_alike, phone_key, resolve_staff
from crm.db import Database
from crm.errors import UserError
from crm.models import CUSTOMER_STAGES, TIERS, AuditEvent, Company, Customer, Staff
from crm.search import build_search_cjk, build_search_text
from crm.types import utcnow

COLUMNS = {"name", "company", "email", "phone", "tier", "stage", "owner", "tags", "language", "external_id"}
ALIASES = {"full name": "name", "customer": "name", "organisation": "company", "organization": "company",
           "e-mail": "email", "mobile": "phone", "telephone": "phone", "姓名": "name", "名称": "name", "公司": "company",
           "邮箱": "email", "电话": "phone", "手机": "phone", "负责人": "owner", "标签": "tags",
           "external id": "external_id", "externalid": "external_id", "外部编号": "external_id"}
BATCH = 500
# the store's column widths: a longer cell is a bad row, not a failed import
LIMITS = {"name": 200, "company": 200, "email": 254, "phone": 40, "tags": 500, "external_id": 100}


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)
    matched: list[tuple[int, int]] = field(default_factory=list)  # (line, existing customer id)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # also in errors: skipped rows by line

    @property
    def skipped(self) -> int:
        return len(self.errors)


DUPLICATE_REASONS = {"email": "same email", "phone": "same phone", "name": "same name at the same company"}


def _unquoted(cell: str) -> str:
    """Undoes the export's formula guard ('=…, '+49…), so an exported CSV re-imports as it was."""
    if cell.startswith("'") and cell[1:].lstrip(" \u3000\x00").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _header(names: list[str]) -> dict[str, int]:
    mapping = {}
    for i, raw in enumerate(names):
        key = raw.strip().lower()
        key = ALIASES.get(key, key)
        if key in COLUMNS and key not in mapping:
            mapping[key] = i
    if "name" not in mapping:
        raise UserError("The CSV needs a 'name' column (found: {found}).",
                        found=", ".join(n.strip() for n in names) or "nothing")
    return mapping


def _check(row: dict, owner_ok: Callable[[str], object]) -> str | None:
    if not row.get("name", "").strip():
        return "name is empty"
    for column, limit in LIMITS.items():
        if len(row.get(column) or "") > limit:
            return f"{column} is longer than {limit} characters"
    if row.get("email") and not EMAIL.match(row["email"]):
        return f"email “{row['email'][:60]}” is not an email address"
    if row.get("tier") and row["tier"].lower() not in TIERS:
        return f"tier “{row['tier'][:20]}” is not one of {', '.join(TIERS)}"
    if row.get("stage") and row["stage"].lower() not in CUSTOMER_STAGES:
        return f"stage “{row['stage'][:20]}” is not one of {', '.join(CUSTOMER_STAGES)}"
    if row.get("language") and row["language"].lower() not in ("en", "zh"):
        return "language must be en or zh"
    return None


def read_csv(path: str | Path) -> tuple[list[str], list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """Header, (line number, cells) rows and unreadable-file problems; UTF-8 (Excel's BOM too) or GB18030."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")  # Excel in a Chinese locale
        except UnicodeDecodeError:
            raise UserError("{path} is not UTF-8 or GB18030 text; save it as CSV UTF-8.", path=path) from None
    text = text.replace("\x00", "")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UserError("{path} is empty.", path=path) from None
    except csv.Error as exc:
        raise UserError("{path} is not a readable CSV file: {problem}.", path=path, problem=exc) from None
    rows, errors = [], []
    try:
        ended = reader.line_num
        for record in reader:
            rows.append((ended + 1, record))  # the line the row starts on: a quoted cell may span lines
            ended = reader.line_num
    except csv.Error as exc:
        errors.append((reader.line_num, f"unreadable CSV ({exc}); the rest of the file was not read"))
    if rows and rows[-1][0] < reader.line_num and _ends_inside_quotes(text, rows[-1][0]):
        # a quote never closed: the reader took everything after it as one cell
        start = rows.pop()[0]
        errors.append((start, f"a quote opened on this line is never closed: lines {start}–{reader.line_num} "
                              "were not imported (close the quote and import the file again)"))
    return header, rows, errors


def _ends_inside_quotes(text: str, last_row_line: int) -> bool:
    """Whether the file's last row, from ``last_row_line`` on, ends inside a quoted cell (Python's
    lenient reader accepts that silently and returns the rest of the file as one cell)."""
    tail = "".join(io.StringIO(text, newline="").readlines()[last_row_line - 1:])
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


class _Known:
    """What the duplicate and external-id checks compare a row with, loaded once and kept current as
    rows are created: the same rules as ``find_duplicate`` (same email, same phone, a near-identical
    name at the same company), without three queries per row."""

    PEERS = 500  # names compared per company, as find_duplicate

    def __init__(self, session):
        live = col(Customer.forgotten_at).is_(None)
        self.session = session
        self.external = dict(session.exec(select(Customer.external_id, Customer.id)
                                          .where(col(Customer.external_id).is_not(None))).all())
        self.email: dict[str, Customer | tuple[int, str]] = {}
        self.phone: dict[str, Customer | tuple[int, str]] = {}
        for cid, name, email, key in session.exec(select(Customer.id, Customer.name, Customer.email, Customer.phone_key)
                                                  .where(live).order_by(Customer.id)).all():
            if email:
                self.email.setdefault(email.strip().lower(), (cid, name))
            if key:
                self.phone.setdefault(key, (cid, name))
        self.companies = {name.lower(): cid for cid, name in session.exec(select(Company.id, Company.name)).all()}
        self.company_names = {cid: name for name, cid in self.companies.items()}
        self.peers: dict[int, list] = {}  # (id, name) of stored customers, or Customer rows created now
        self.staff: dict[str, Staff | str] = {}

    def company_peers(self, company_id: int) -> list:
        if company_id not in self.peers:
            self.peers[company_id] = list(self.session.exec(
                select(Customer.id, Customer.name).where(Customer.company_id == company_id,
                                                         col(Customer.forgotten_at).is_(None))
                .order_by(Customer.id).limit(self.PEERS)).all())
        return self.peers[company_id]

    def duplicate(self, name: str, company: str | None, email: str, phone: str | None):
        """(existing id and name, why) or None; an existing row may be one created earlier in this file."""
        hit = None
        if email and email in self.email:
            hit = self.email[email], "email"
        elif phone_key(phone) and phone_key(phone) in self.phone:
            hit = self.phone[phone_key(phone)], "phone"
        elif company and company.strip().lower() in self.companies:
            company_id = self.companies[company.strip().lower()]
            for peer in self.company_peers(company_id):
                if names_look_alike(name, peer.name if isinstance(peer, Customer) else peer[1]):
                    hit = peer, "name"
                    break
        if hit is None:
            return None
        found, why = hit
        if isinstance(found, Customer):
            self.session.flush()  # created earlier in this file: its id is needed for the report
            found = (found.id, found.name)
        return found, why

    def company_id(self, name: str | None) -> int | None:
        name = (name or "").strip()
        if not name:
            return None
        if name.lower() not in self.companies:
            company = Company(name=name)
            self.session.add(company)
            self.session.flush()
            self.companies[name.lower()] = company.id
            self.company_names[company.id] = name
            self.peers[company.id] = []
        return self.companies[name.lower()]

    def owner(self, ref: str) -> Staff | str:
        """The staff member, or the problem with the reference (looked up once per distinct reference)."""
        if ref not in self.staff:
            try:
                self.staff[ref] = resolve_staff(self.session, ref)
            except UserError:
                self.staff[ref] = f"owner “{ref[:40]}” is not a staff member"
        return self.staff[ref]

    def add(self, customer: Customer) -> None:
        if customer.email:
            self.email.setdefault(customer.email.strip().lower(), customer)
        if customer.phone_key:
            self.phone.setdefault(customer.phone_key, customer)
        if customer.company_id is not None:
            peers = self.company_peers(customer.company_id)
            if len(peers) < self.PEERS:
                peers.append(customer)


def import_customers(db: Database, path: str | Path, *, actor_label: str = "csv import",
                     on_progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Rows are checked against maps loaded once (``_Known``) and written a batch at a time, as
    ``create_customer`` would write them one by one (search text, name key, company)."""
    header, rows, problems = read_csv(path)
    report = ImportReport(errors=problems)
    columns = _header(header)
    total = len(rows)
    with db.session() as session:
        known = _Known(session)
        seen_external: dict[str, Customer] = {}
        batch: list[tuple[int, Customer]] = []

        def write_batch() -> None:
            session.flush()
            events = []
            for line, customer in batch:
                report.created_ids.append(customer.id)
                events.append(dict(at=utcnow(), actor_staff_id=None, actor=actor_label, platform="cli",
                                   action="customer.import", customer_id=customer.id,
                                   detail=json.dumps({"line": line})))  # as audit.record writes it
            if events:
                session.execute(insert(AuditEvent.__table__), events)
            batch.clear()
            session.commit()

        for n, (line, record) in enumerate(rows, 1):
            if on_progress and (n % BATCH == 0 or n == total):
                on_progress(n, total)
            if not any(cell.strip() for cell in record):
                continue
            row = {k: _unquoted(record[i].strip() if i < len(record) else "") for k, i in columns.items()}
            problem = _check(row, None)
            owner = None
            if problem is None and row.get("owner"):
                owner = known.owner(row["owner"])
                if isinstance(owner, str):
                    problem, owner = owner, None
            email = (row.get("email") or "").lower()
            external_id = row.get("external_id") or None
            if problem is None and external_id:
                if external_id in known.external:
                    report.matched.append((line, known.external[external_id]))  # already imported
                    continue
                if external_id in seen_external:  # created on an earlier line of this file: matched to it
                    session.flush()
                    report.matched.append((line, seen_external[external_id].id))
                    continue
            if problem is None:
                duplicate = known.duplicate(row["name"], row.get("company"), email, row.get("phone") or None)
                if duplicate is not None:
                    (existing_id, existing_name), why = duplicate
                    problem = f"duplicate of #{existing_id} {existing_name[:60]} ({DUPLICATE_REASONS[why]})"
                    report.duplicates.append((line, problem))
            if problem:
                report.errors.append((line, problem))
                continue
            name = " ".join(row["name"].split())
            company_id = known.company_id(row.get("company"))
            phone = row.get("phone") or None
            customer = Customer(name=name, company_id=company_id, email=row.get("email") or None, phone=phone,
                                phone_key=phone_key(phone), tier=(row.get("tier") or "standard").lower(),
                                stage=(row.get("stage") or "lead").lower(), owner_id=owner.id if owner else None,
                                tags=row.get("tags", ""), language=(row.get("language") or "en").lower(),
                                external_id=external_id)
            company = known.company_names.get(company_id) if company_id is not None else None
            customer.search_text = build_search_text(customer.name, company, customer.email, customer.phone,
                                                     customer.tags)
            customer.search_cjk = build_search_cjk(customer.name, company)
            customer.name_key = customer.name.casefold()[:200]
            session.add(customer)
            known.add(customer)
            if external_id:
                seen_external[external_id] = customer
            batch.append((line, customer))
            report.imported += 1
            if len(batch) >= BATCH:
                write_batch()
        write_batch()
    return report
