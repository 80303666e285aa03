"""The store on SQLite and PostgreSQL: migrations, constraints, search, idempotency."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from crm.customers import create_customer
from crm.events import claim_event
from crm.interactions import log_interaction
from crm.models import Customer, Interaction, Relationship, Staff
from crm.search import search_customers

# the store itself is the subject here: every test runs on SQLite and on PostgreSQL
pytestmark = pytest.mark.store


def test_migrations_match_models(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # the search index objects are created by raw SQL in 0002 and are not in the metadata
    def search_index(d) -> bool:
        obj = d[1]
        return (d[0] == "remove_index" and obj.name in ("ix_customer_search_trgm", "ix_customer_search_cjk")) or (
            d[0] == "remove_table" and obj.name.startswith("customer_fts"))

    diff = [d for d in diff if not search_index(d)]
    assert diff == []


def test_foreign_keys_are_enforced(db):
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.add(Relationship(from_customer_id=999, to_customer_id=998, kind="knows"))


def test_platform_message_stored_once(db, team):
    with db.session() as s:
        c = s.get(Customer, team.globex)
        first = log_interaction(s, c, kind="message", text="hi", staff=None, source=("telegram", "42:7"))
        again = log_interaction(s, c, kind="message", text="hi", staff=None, source=("telegram", "42:7"))
        assert first.id == again.id
    with db.session() as s:
        assert len(s.exec(select(Interaction).where(Interaction.source_message_id == "42:7")).all()) == 1


def test_claim_event_once(db):
    assert claim_event(db, "slack", "Ev1") is True
    assert claim_event(db, "slack", "Ev1") is False
    assert claim_event(db, "telegram", "Ev1") is True


@pytest.mark.parametrize("query,expected", [
    ("glob", "Globex Corporation"), ("globx", "Globex Corporation"), ("GLOBEX", "Globex Corporation"),
    ("王伟", "王伟"), ("王", "王伟"), ("华为", "王伟"), ("ops@globex", "Globex Corporation"),
    ("initek", "Initech"), ("li na", "Li Na"), ("伟", "王伟"), ("华", "王伟"), ("li", "Li Na"),
    ("globex corp", "Globex Corporation"), ("corporation globex", "Globex Corporation"),
])
def test_search_finds_partial_misspelt_and_chinese(db, team, query, expected):
    with db.session() as s:
        hits = search_customers(s, query)
        assert hits, query
        assert hits[0][0].name == expected


def test_search_ranks_name_before_company(db, team):
    with db.session() as s:
        names = [c.name for c, _ in search_customers(s, "globex")]
    assert names[:2] == ["Globex Corporation", "Li Na"]


def test_search_sees_updates_and_ignores_unrelated(db, team):
    with db.session() as s:
        c = create_customer(s, "Zebulon Quartz", email="zq@example.com")
    with db.session() as s:
        assert [c.name for c, _ in search_customers(s, "zebul")] == ["Zebulon Quartz"]
        assert search_customers(s, "qqqqzzzz") == []


def test_staff_unique_slack_id(db, team):
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.add(Staff(name="Someone Else", slack_user_id="UALICE"))


def test_sqlite_writers_queue_in_order_with_urgent_ones_first():
    import threading
    import time

    from crm.db import WriterQueue

    writers, order = WriterQueue(), []

    def write(name: str, urgent: bool = False):
        with writers.hold(urgent):
            order.append(name)

    def queued() -> int:
        return len(writers._urgent) + len(writers._normal)

    with writers.hold():
        threads = []
        for n, (name, urgent) in enumerate([("first", False), ("second", False), ("third", False), ("ack", True)]):
            threads.append(threading.Thread(target=write, args=(name, urgent)))
            threads[-1].start()
            deadline = time.monotonic() + 5
            while queued() < n + 1 and time.monotonic() < deadline:  # each waits in line before the next comes
                time.sleep(0.001)
    for t in threads:
        t.join(5)
    assert order == ["ack", "first", "second", "third"]
    with writers.hold():  # free again once everyone is done
        pass


def test_sqlite_background_writers_get_a_turn_between_urgent_ones():
    import threading
    import time

    from crm.db import WriterQueue

    writers, order = WriterQueue(), []

    def write(name: str, urgent: bool):
        with writers.hold(urgent):
            order.append(name)

    line = [("background", False)] + [(f"ack{n}", True) for n in range(WriterQueue.URGENT_RUN + 2)]
    with writers.hold():
        threads = []
        for n, (name, urgent) in enumerate(line):
            threads.append(threading.Thread(target=write, args=(name, urgent)))
            threads[-1].start()
            deadline = time.monotonic() + 5
            while len(writers._urgent) + len(writers._normal) < n + 1 and time.monotonic() < deadline:
                time.sleep(0.001)
    for t in threads:
        t.join(5)
    # a steady stream of acks does not keep background work (answers, relays) waiting for ever
    assert order.index("background") == WriterQueue.URGENT_RUN
    assert sorted(order) == sorted(name for name, _ in line)
