"""The SQLite store encrypted at rest with SQLCipher (``CRM_DB_KEY``).

With a key, the store is opened through SQLAlchemy's ``sqlite+pysqlcipher`` dialect on the
``sqlcipher3`` module (the ``sqlcipher3-binary`` wheel bundles SQLCipher 4 with FTS5, so the
search indexes are encrypted with everything else). Every page, the WAL included, is AES-256
encrypted with an HMAC per page; the key is stretched with PBKDF2 (SQLCipher 4's defaults).

``encrypt`` turns a plain store into an encrypted one and ``rekey`` moves one to a new key.
Both work the same safe way: the source is checkpointed and read inside one transaction that
holds the write lock, copied with ``sqlcipher_export`` into a new file beside it, the copy is
checked (integrity check, every table's row count equal to the source's), and only then renamed
over the original. A crash at any point leaves the original as it was; the old plaintext file
is overwritten with zeros before it is removed. The store must not be in use meanwhile.

A wrong or missing key is found when the first connection opens (a read of the schema) and is
reported as ``StoreKeyError``: one line that says what to do, and nothing is written.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

CIPHER_SCHEME = "sqlite+pysqlcipher"
SQLITE_HEADER = b"SQLite format 3\x00"


class StoreKeyError(Exception):
    """The store cannot be opened with the key given (or without one): a one-line explanation."""


@dataclass(frozen=True)
class Conversion:
    path: Path
    tables: int
    rows: int


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` or ``sqlite+pysqlcipher://:key@/…`` URL; None for anything else."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL we can read: not a SQLite file either
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_cipher_url(url: str) -> bool:
    return url.startswith(CIPHER_SCHEME + ":")


def cipher_url(url: str, key: str) -> str:
    """``sqlite:///crm.db`` + key → ``sqlite+pysqlcipher://:<key>@/crm.db`` (the key URL-quoted)."""
    path = sqlite_path(url)
    if path is None:
        raise StoreKeyError("CRM_DB_KEY encrypts a SQLite file store; for PostgreSQL use TLS "
                            "(sslmode=verify-full) and disk encryption instead, and unset CRM_DB_KEY.")
    if not key:
        raise StoreKeyError("CRM_DB_KEY is empty; set a long random passphrase or unset it.")
    return f"{CIPHER_SCHEME}://:{quote(key, safe='')}@/{path}"


def is_encrypted_file(path: Path) -> bool:
    """A non-empty file that does not start with SQLite's plain header (SQLCipher encrypts page 1 too)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        return False
    return len(head) == 16 and head != SQLITE_HEADER


def explain_open_failure(path: Path | None, keyed: bool) -> StoreKeyError:
    where = str(path) if path else "the store"
    if keyed:
        if path is not None and path.exists() and not is_encrypted_file(path):
            return StoreKeyError(f"{where} is not encrypted yet: run `crm-bot db encrypt` (with CRM_DB_KEY set) "
                                 "to encrypt it, or unset CRM_DB_KEY.")
        return StoreKeyError(f"CRM_DB_KEY does not open {where}: the key is wrong (nothing was changed).")
    return StoreKeyError(f"{where} is encrypted (or not a SQLite file): set CRM_DB_KEY to its key.")


def probe(dbapi_conn, path: Path | None, keyed: bool) -> None:
    """Reads the schema once: a wrong or missing key fails here, before anything is written."""
    cur = dbapi_conn.cursor()
    try:
        if keyed:
            cur.execute("PRAGMA cipher_log_level = NONE")  # SQLCipher would print its own error lines
        cur.execute("SELECT count(*) FROM sqlite_master")
        cur.fetchone()
    except Exception as exc:  # noqa: BLE001 - the driver's DatabaseError: "file is not a database"
        if "not a database" in str(exc) or "encrypted" in str(exc):
            raise explain_open_failure(path, keyed) from None
        raise
    finally:
        cur.close()


# ---- encrypt and rekey --------------------------------------------------------------------------

def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _open(path: Path, key: str | None):
    from sqlcipher3 import dbapi2

    conn = dbapi2.connect(str(path), timeout=2, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA cipher_log_level = NONE")
    if key is not None:
        conn.execute(f"PRAGMA key = {_sql_literal(key)}")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except Exception:  # noqa: BLE001
        conn.close()
        raise explain_open_failure(path, key is not None) from None
    return conn


def _counts(conn) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def _convert(path: Path, src_key: str | None, dst_key: str) -> Conversion:
    if not path.exists():
        raise StoreKeyError(f"there is no store at {path} (check DATABASE_URL).")
    if not dst_key:
        raise StoreKeyError("the new key is empty; use a long random passphrase.")
    tmp = path.with_name(path.name + ".encrypting")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
        leftover.unlink(missing_ok=True)
    src = _open(path, src_key)
    guard = None
    try:
        try:
            src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            guard = _open(path, src_key)
            guard.execute("BEGIN IMMEDIATE")  # no writer can slip in between the copy and the rename
        except StoreKeyError:
            raise
        except Exception as exc:  # noqa: BLE001 - "database is locked"
            raise StoreKeyError(f"{path} is in use (stop crm-bot first): {exc}") from None
        before = _counts(src)
        src.execute(f"ATTACH DATABASE {_sql_literal(str(tmp))} AS converted KEY {_sql_literal(dst_key)}")
        src.execute("SELECT sqlcipher_export('converted')")
        version = src.execute("PRAGMA main.user_version").fetchone()[0]
        src.execute(f"PRAGMA converted.user_version = {int(version)}")
        src.execute("DETACH DATABASE converted")
        copy = _open(tmp, dst_key)
        try:
            ok = copy.execute("PRAGMA integrity_check").fetchone()[0]
            after = _counts(copy)
        finally:
            copy.close()
        if ok != "ok" or after != before:
            tmp.unlink(missing_ok=True)
            raise StoreKeyError(f"the converted copy of {path} did not check out ({ok}); the store is unchanged.")
        _replace(path, tmp, wipe_old=src_key is None)
    finally:
        if guard is not None:
            guard.close()
        src.close()
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        side.unlink(missing_ok=True)  # belonged to the old file (checkpointed and empty)
    return Conversion(path, len(before), sum(before.values()))


def _replace(path: Path, new: Path, *, wipe_old: bool) -> None:
    """Renames ``new`` over ``path`` atomically; the old file's bytes are zeroed once it is unlinked
    from the store's name (a hard link keeps it reachable until then, so a crash loses nothing)."""
    old = path.with_name(path.name + ".old")
    old.unlink(missing_ok=True)
    os.link(path, old)
    os.replace(new, path)
    if wipe_old:
        size = old.stat().st_size
        with open(old, "r+b") as f:
            for start in range(0, size, 1 << 20):
                f.write(b"\0" * min(1 << 20, size - start))
            f.flush()
            os.fsync(f.fileno())
    old.unlink()


def encrypt(url: str, key: str) -> Conversion:
    """A plain SQLite store → encrypted under ``key``, in place; every row kept (counted)."""
    path = sqlite_path(url)
    if path is None:
        raise StoreKeyError("`db encrypt` works on a SQLite store (DATABASE_URL=sqlite:///…).")
    if is_encrypted_file(path):
        raise StoreKeyError(f"{path} is already encrypted; use `crm-bot db rekey` to change its key.")
    return _convert(path, None, key)


def rekey(url: str, old_key: str, new_key: str) -> Conversion:
    """An encrypted store moved from ``old_key`` to ``new_key``; every row kept (counted)."""
    path = sqlite_path(url)
    if path is None:
        raise StoreKeyError("`db rekey` works on a SQLite store (DATABASE_URL=sqlite:///…).")
    if not is_encrypted_file(path):
        raise StoreKeyError(f"{path} is not encrypted; use `crm-bot db encrypt` first.")
    if new_key == old_key:
        raise StoreKeyError("the new key is the current key; nothing to do.")
    return _convert(path, old_key, new_key)
