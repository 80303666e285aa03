"""CSV import of customers: good rows kept, bad rows reported by line number and skipped.

An ``external_id`` column (the customer's id in the system the file came from) is stored on the
customer; a row whose external id is already known is *matched* rather than created again, so
re-running a file is harmless, and relationship and interaction files can refer to customers by it
(``crm.bulk_import``)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlmodel import select

from crm import audit
from crm.exporter import FORMULA_STARTS
from crm.customers import EMAIL, create_customer, find_duplicate, resolve_staff
from crm.db import Database
from crm.errors import UserError
from crm.models import CUSTOMER_STAGES, TIERS, Customer

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


def import_customers(db: Database, path: str | Path, *, actor_label: str = "csv import",
                     on_progress: Callable[[int, int], None] | None = None) -> ImportReport:
    header, rows, problems = read_csv(path)
    report = ImportReport(errors=problems)
    columns = _header(header)
    total = len(rows)
    with db.session() as session:
        seen_external = set()
        for n, (line, record) in enumerate(rows, 1):
            if not any(cell.strip() for cell in record):
                continue
            row = {k: _unquoted(record[i].strip() if i < len(record) else "") for k, i in columns.items()}
            problem = _check(row, None)
            owner = None
            if problem is None and row.get("owner"):
                try:
                    owner = resolve_staff(session, row["owner"])
                except UserError:
                    problem = f"owner “{row['owner'][:40]}” is not a staff member"
            email = (row.get("email") or "").lower()
            external_id = row.get("external_id") or None
            if problem is None and external_id:
                known = session.exec(select(Customer.id).where(Customer.external_id == external_id)).first()
                if known is not None or external_id in seen_external:
                    if known is not None:
                        report.matched.append((line, known))  # already imported: nothing to create
                    else:
                        report.errors.append((line, f"external_id {external_id} appears twice in the file"))
                    if on_progress:
                        on_progress(n, total)
                    continue
            duplicate = None
            if problem is None:
                # rows created earlier in this file are in the session too, so they count
                duplicate = find_duplicate(session, row["name"], company=row.get("company"), email=email or None,
                                           phone=row.get("phone") or None)
                if duplicate is not None:
                    existing, why = duplicate
                    problem = (f"duplicate of #{existing.id} {existing.name[:60]} "
                               f"({DUPLICATE_REASONS[why]})")
                    report.duplicates.append((line, problem))
            if problem:
                report.errors.append((line, problem))
            else:
                try:
                    with session.begin_nested():
                        customer = create_customer(
                            session, row["name"], company=row.get("company"), email=row.get("email") or None,
                            phone=row.get("phone") or None, tier=(row.get("tier") or "standard").lower(),
                            stage=(row.get("stage") or "lead").lower(), owner=owner, tags=row.get("tags", ""),
                            language=(row.get("language") or "en").lower())
                        if external_id:
                            customer.external_id = external_id
                            session.add(customer)
                            session.flush()
                    seen_external.add(external_id)
                    report.created_ids.append(customer.id)
                    report.imported += 1
                    audit.record(session, "customer.import", actor_label=actor_label, platform="cli",
                                 customer_id=customer.id, line=line)
                except UserError as err:
                    report.errors.append((line, err.message))
            if n % BATCH == 0:
                session.commit()
            if on_progress:
                on_progress(n, total)
    return report
