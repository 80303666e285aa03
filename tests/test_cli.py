"""`crm-bot` subcommands: useful output, one-line errors, non-zero exits, no tracebacks."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from sqlmodel import select

from bot.settings import get_settings
from crm.models import AuditEvent, Customer, Interaction, Staff


def test_staff_add_and_errors(cli, db, capsys):
    assert cli(["staff", "add", "--name", "Maria Manager", "--role", "manager", "--email", "m@x.example"]) == 0
    assert cli(["staff", "add", "--name", "Alice", "--role", "rep", "--slack-id", "UA1", "--telegram-id", "42",
                "--timezone", "Asia/Shanghai", "--manager", "Maria Manager"]) == 0
    assert "Added Alice (rep" in capsys.readouterr().out
    with db.session() as s:
        alice = s.exec(select(Staff).where(Staff.name == "Alice")).one()
        maria = s.exec(select(Staff).where(Staff.name == "Maria Manager")).one()
        assert (alice.manager_id, alice.telegram_user_id, alice.timezone) == (maria.id, 42, "Asia/Shanghai")
    for argv, fragment in [
        (["staff", "add", "--name", "Alice", "--role", "rep"], "already exists"),
        (["staff", "add", "--name", "Zed", "--role", "boss"], "--role must be one of"),
        (["staff", "add", "--name", "Zed", "--role", "rep", "--timezone", "Mars/Base"], "not a known time zone"),
        (["staff", "add", "--name", "Zed", "--role", "rep", "--manager", "Nobody"], "No colleague"),
        (["staff", "add", "--name", "Zed", "--role", "rep", "--telegram-id", "abc"], "numeric"),
    ]:
        assert cli(argv) != 0
        err = capsys.readouterr().err
        assert fragment in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


@pytest.mark.store
def test_seed_then_export(cli, db, capsys):
    assert cli(["seed", "--customers", "60", "--seed", "3"]) == 0
    assert "Seeded 60 customers" in capsys.readouterr().out
    assert cli(["export", "customers"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 60 and {"name", "company", "email", "owner"} <= set(rows[0])
    assert cli(["export", "interactions", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    with db.session() as s:
        assert len(data) == len(s.exec(select(Interaction.id)).all()) > 0


def test_seed_is_deterministic(cli, db, capsys):
    cli(["seed", "--customers", "20", "--seed", "9"])
    with db.session() as s:
        names = [c.name for c in s.exec(select(Customer).order_by(Customer.id)).all()]
    from crm.db import Database
    from crm.seed import seed

    other = Database("sqlite://")
    other.upgrade()
    seed(other, 20, seed=9)
    with other.session() as s:
        assert [c.name for c in s.exec(select(Customer).order_by(Customer.id)).all()] == names


@pytest.mark.store
def test_import_keeps_good_rows_and_reports_bad_ones(cli, db, tmp_path, capsys):
    cli(["staff", "add", "--name", "Alice Rep", "--role", "rep", "--email", "alice@x.example"])
    capsys.readouterr()
    path = tmp_path / "customers.csv"
    path.write_text(
        "\ufeffName,Company,Email,Phone,Tier,Owner\n"
        "Globex Corporation,Globex,ops@globex.example,+1 555 0100,vip,Alice Rep\n"
        ",Nameless,nameless@x.example,,,\n"
        "Bad Email,,not-an-email,,,\n"
        "Bad Tier,,tier@x.example,,platinum,\n"
        "Unknown Owner,,owner@x.example,,,Nobody\n"
        "Dup,,ops@globex.example,,,\n"
        "\n"
        "王伟,华为,wang@huawei.example,+86 138 0000 0001,gold,\n"
        '"Quoted, Name",,q@x.example,,,\n', encoding="utf-8")
    assert cli(["import", "customers", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "Imported 3 customers; skipped 5 bad rows (1 likely duplicate of existing customers" in out
    assert "line 3: name is empty" in err
    assert "line 4: email “not-an-email” is not an email address" in err
    assert "line 5: tier “platinum”" in err
    assert "line 6: owner “Nobody” is not a staff member" in err
    assert "line 7: duplicate of #1 Globex Corporation (same email)" in err
    with db.session() as s:
        names = sorted(c.name for c in s.exec(select(Customer)).all())
        assert names == ["Globex Corporation", "Quoted, Name", "王伟"]
        assert s.exec(select(Customer).where(Customer.name == "Globex Corporation")).one().tier == "vip"
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "customer.import")).all()) == 3


def test_import_errors(cli, tmp_path, capsys):
    assert cli(["import", "customers", str(tmp_path / "missing.csv")]) != 0
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("company,email\nAcme,a@b.example\n")
    assert cli(["import", "customers", str(bad)]) != 0
    assert "needs a 'name' column" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert cli(["import", "customers", str(empty)]) != 0
    assert "empty" in capsys.readouterr().err


def test_db_upgrade_and_unreachable_database(cli, capsys, monkeypatch):
    assert cli(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    assert cli(["db", "upgrade"]) == 3
    err = capsys.readouterr().err
    assert "check DATABASE_URL" in err and "Traceback" not in err


def test_bad_configuration_is_one_line(cli, capsys, monkeypatch):
    monkeypatch.setenv("CRM_TIMEZONE", "Nowhere/City")
    get_settings.cache_clear()
    assert cli(["db", "upgrade"]) == 2
    assert "not a known time zone" in capsys.readouterr().err


def test_terminal_chat_end_to_end(tmp_path):
    """`crm-bot run` with no tokens: seeds demo data and answers typed commands."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", "PATH": "/usr/bin:/bin", "PORT": "0",
           "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--port", "0"],
                            input="/crm find a\n/crm tasks\n1\n/crm show #1\nquit\n", capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "demo data" in result.stderr
    assert "matches for" in result.stdout and "Recent interactions" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
