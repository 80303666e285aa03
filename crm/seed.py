"""Realistic synthetic data: `crm-bot seed`, `crm-bot demo` and the benchmarks.

Deterministic for a given seed. Rows go in with bulk inserts in chunks, so 100k customers
with about a million interactions take well under a minute on SQLite.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import func, insert, select, text

from crm.customers import phone_key
from crm.db import Database
from crm.models import Company, Customer, Deal, Interaction, Relationship, Staff, Task, Ticket
from crm.search import build_search_text

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
         "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley", "Steven",
         "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenji", "Priya", "Olga", "Ahmed", "Sofia", "Lucas",
         "Amara", "Noah", "Chloe", "Mateo", "Hannah", "Ivan", "Fatima", "Liam"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores", "Green", "Tanaka",
        "Patel", "Ivanova", "Hassan", "Rossi", "Silva", "Okafor", "Schmidt", "Novak", "Kowalski"]
ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
            "霞", "平", "刚", "桂英", "建华", "晓东", "志强", "海燕", "文博", "子涵", "欣怡", "浩然", "雨萱", "梓轩"]
CO_A = ["Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Acme", "Soylent", "Cyberdyne",
        "Tyrell", "Wonka", "Aperture", "Massive", "Pied Piper", "Dunder", "Gringotts", "Oscorp", "Nakatomi",
        "Virtucon", "Blue Sun", "Monarch", "Gekko", "Zorg", "Octan", "Praxis", "Ultor", "Bluth", "Sterling",
        "Wernham", "Northwind", "Contoso", "Fabrikam", "Tailspin", "Adventure", "Litware", "Proseware", "Lucerne"]
CO_B = ["Corporation", "Industries", "Systems", "Labs", "Logistics", "Holdings", "Partners", "Group", "Foods",
        "Energy", "Analytics", "Robotics", "Health", "Capital", "Media", "Retail", "Software", "Dynamics"]
ZH_CO_A = ["华为", "腾讯", "阿里", "百度", "京东", "美团", "小米", "字节", "网易", "海尔", "联想", "比亚迪", "格力", "中兴",
           "长城", "天宇", "星辰", "远航", "恒信", "嘉禾", "瑞丰", "宏达", "金桥", "东方", "新世纪", "华夏"]
ZH_CO_B = ["科技", "集团", "实业", "贸易", "信息技术", "电子", "物流", "咨询", "控股", "软件"]
INDUSTRIES = ["software", "retail", "manufacturing", "logistics", "finance", "health", "energy", "media"]
NOTES_EN = ["discussed renewal pricing", "sent the proposal", "demo of the new dashboard went well",
            "asked about volume discounts", "follow-up on the support ticket", "intro call with their CTO",
            "negotiated payment terms", "they are evaluating a competitor", "quarterly business review",
            "shared case studies", "confirmed budget for next year", "onboarding check-in", "contract questions",
            "requested a security questionnaire", "complained about slow delivery", "happy with the rollout"]
NOTES_ZH = ["讨论续约价格", "发送了报价单", "新版仪表盘演示顺利", "询问批量折扣", "跟进售后工单", "与对方技术总监初次通话",
            "协商付款条件", "对方在评估竞争对手", "季度业务回顾", "分享了客户案例", "确认明年预算", "上线回访", "合同条款问题"]
TASKS = ["send the proposal", "call about the renewal", "share pricing", "check in after the demo",
         "book the quarterly review", "send contract draft", "发送报价", "回电话确认需求"]
TIMEZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Shanghai",
             "Asia/Singapore", "UTC"]
CHUNK = 20_000


@dataclass
class SeedResult:
    staff: int
    customers: int
    companies: int
    interactions: int
    relationships: int
    deals: int
    tasks: int
    tickets: int


def _insert(conn, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[i:i + CHUNK])


def seed(db: Database, customers: int = 1000, *, seed: int = 42, now: datetime | None = None,
         interactions_per_customer: float = 10.0, progress: Callable[[str], None] | None = None) -> SeedResult:
    """Add a realistic CRM to the store (staff, companies, customers and their history)."""
    rnd = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    say = progress or (lambda _msg: None)
    n_reps = max(4, min(60, customers // 2000 + 6))
    n_managers = max(1, n_reps // 8)

    with db.engine.begin() as conn:
        start_staff = conn.execute(select(func.coalesce(func.max(Staff.id), 0))).scalar_one()
        start_company = conn.execute(select(func.coalesce(func.max(Company.id), 0))).scalar_one()
        start_customer = conn.execute(select(func.coalesce(func.max(Customer.id), 0))).scalar_one()
        tag = f"s{seed}-{start_customer}" if start_customer else ""

        say("staff")
        taken = {n for (n,) in conn.execute(select(Staff.name))}

        def unique(name: str) -> str:
            candidate, k = name, 1
            while candidate in taken:
                k += 1
                candidate = f"{name} {k}"
            taken.add(candidate)
            return candidate

        staff_rows = [dict(id=start_staff + 1, name=unique("Ada Admin"), role="admin",
                           email=f"admin{('.' + tag) if tag else ''}@crm.example", timezone="UTC", language="en",
                           prefers_telegram=False, digest_subscribed=False, active=True, created_at=now)]
        manager_ids, rep_ids = [], []
        for i in range(n_managers):
            sid = start_staff + 2 + i
            manager_ids.append(sid)
            staff_rows.append(dict(id=sid, name=unique(f"{FIRST[(i * 13 + 5) % 50]} {LAST[(i * 7 + 3) % 50]}"),
                                   role="manager", email=f"manager{i + 1}{tag}@crm.example",
                                   timezone=TIMEZONES[i % len(TIMEZONES)], language="en", prefers_telegram=False,
                                   digest_subscribed=True, active=True, created_at=now))
        for i in range(n_reps):
            sid = start_staff + 2 + n_managers + i
            rep_ids.append(sid)
            zh = i % 5 == 4
            name = (rnd.choice(ZH_SURNAMES) + rnd.choice(ZH_GIVEN)) if zh else f"{FIRST[(i * 3) % 50]} {LAST[(i * 11) % 50]}"
            staff_rows.append(dict(id=sid, name=unique(name), role="rep",
                                   email=f"rep{i + 1}{tag}@crm.example", manager_id=manager_ids[i % n_managers],
                                   timezone="Asia/Shanghai" if zh else TIMEZONES[i % len(TIMEZONES)],
                                   language="zh" if zh else "en", prefers_telegram=False, digest_subscribed=False,
                                   active=True, created_at=now))
        _insert(conn, Staff.__table__, staff_rows)

        say("companies")
        n_companies = max(5, customers // 4)
        company_rows, company_names = [], []
        used = {n for (n,) in conn.execute(select(Company.name))}
        for i in range(n_companies):
            zh = rnd.random() < 0.2
            base = (rnd.choice(ZH_CO_A) + rnd.choice(ZH_CO_B)) if zh else f"{rnd.choice(CO_A)} {rnd.choice(CO_B)}"
            name = base if base not in used else f"{base} {i}"
            used.add(name)
            company_names.append(name)
            company_rows.append(dict(id=start_company + 1 + i, name=name, industry=rnd.choice(INDUSTRIES),
                                     domain=None if zh else name.lower().replace(" ", "") + ".example", created_at=now))
        _insert(conn, Company.__table__, company_rows)

        say("customers")
        customer_rows, zh_flags, owners = [], [], []
        for i in range(customers):
            cid = start_customer + 1 + i
            zh = rnd.random() < 0.2
            if zh:
                name = rnd.choice(ZH_SURNAMES) + rnd.choice(ZH_GIVEN)
                email = f"c{cid}@example.cn"
                phone = f"+86 13{rnd.randint(0, 9)} {rnd.randint(1000, 9999)} {rnd.randint(1000, 9999)}"
            else:
                first, last = rnd.choice(FIRST), rnd.choice(LAST)
                name = f"{first} {last}"
                email = f"{first.lower()}.{last.lower()}{cid}@example.com"
                phone = f"+1 555 {rnd.randint(100, 999)} {rnd.randint(1000, 9999)}"
            company_i = rnd.randrange(n_companies)
            owner = rnd.choice(rep_ids)
            tier = rnd.choices(["standard", "silver", "gold", "vip"], [60, 20, 13, 7])[0]
            stage = rnd.choices(["lead", "prospect", "active", "churned"], [20, 20, 50, 10])[0]
            tags = ",".join(rnd.sample(["renewal", "enterprise", "smb", "partner", "trial", "apac", "emea"],
                                       rnd.randint(0, 2)))
            created = now - timedelta(days=rnd.randint(30, 900))
            customer_rows.append(dict(
                id=cid, name=name, name_key=name.casefold(), company_id=start_company + 1 + company_i, email=email,
                phone=phone, phone_key=phone_key(phone), language="zh" if zh else "en", tier=tier, stage=stage,
                owner_id=owner, tags=tags, marketing_opt_out=rnd.random() < 0.05, telegram_blocked=False,
                search_text=build_search_text(name, company_names[company_i], email, phone, tags),
                churned_at=now - timedelta(days=rnd.randint(1, 200)) if stage == "churned" else None,
                created_at=created, updated_at=created,
                telegram_chat_id=(900_000_000 + cid) if rnd.random() < 0.3 else None))
            zh_flags.append(zh)
            owners.append(owner)
        _insert(conn, Customer.__table__, customer_rows)

        say("relationships")
        rel_rows, seen = [], set()
        kinds = ["referred", "knows", "works-with"]
        for i in range(customers * 3 if customers > 1 else 0):
            a = rnd.randrange(customers)
            # mostly near neighbours, so the graph has structure rather than noise
            b = (a + rnd.randint(1, 40)) % customers if rnd.random() < 0.8 else rnd.randrange(customers)
            kind = rnd.choice(kinds)
            if a == b or (a, b, kind) in seen:
                continue
            seen.add((a, b, kind))
            rel_rows.append(dict(from_customer_id=start_customer + 1 + a, to_customer_id=start_customer + 1 + b,
                                 kind=kind, strength=round(rnd.uniform(0.2, 1.0), 2), created_at=now))
        _insert(conn, Relationship.__table__, rel_rows)

        say("interactions")
        inter_rows, last_contact = [], {}
        total = int(customers * interactions_per_customer)
        for i in range(total):
            ci = rnd.randrange(customers)
            cid = start_customer + 1 + ci
            kind = rnd.choices(["call", "email", "meeting", "chat", "note", "message"], [25, 35, 10, 10, 10, 10])[0]
            direction = "internal" if kind == "note" else rnd.choices(["outbound", "inbound"], [60, 40])[0]
            at = now - timedelta(minutes=rnd.randint(10, 365 * 24 * 60))
            note = rnd.choice(NOTES_ZH if zh_flags[ci] else NOTES_EN)
            inter_rows.append(dict(customer_id=cid, staff_id=owners[ci], kind=kind, direction=direction,
                                   channel="telegram" if kind == "message" else rnd.choice(["slack", "console"]),
                                   text=note, occurred_at=at, created_at=at))
            if direction != "internal" and (cid not in last_contact or at > last_contact[cid]):
                last_contact[cid] = at
            if len(inter_rows) >= CHUNK:
                _insert(conn, Interaction.__table__, inter_rows)
                inter_rows = []
        _insert(conn, Interaction.__table__, inter_rows)
        say("last contact")
        updates = [dict(cid=cid, at=at.replace(tzinfo=None) if db.dialect == "sqlite" else at)
                   for cid, at in last_contact.items()]
        for i in range(0, len(updates), CHUNK):
            conn.execute(text("UPDATE customer SET last_contact_at = :at WHERE id = :cid"), updates[i:i + CHUNK])

        say("deals, tasks, tickets")
        deal_rows, task_rows, ticket_rows = [], [], []
        for ci in range(customers):
            cid = start_customer + 1 + ci
            if rnd.random() < 0.3:
                stage = rnd.choices(["lead", "qualified", "proposal", "negotiation", "won", "lost"],
                                    [15, 20, 25, 15, 15, 10])[0]
                changed = now - timedelta(days=rnd.randint(0, 120))
                deal_rows.append(dict(customer_id=cid, owner_id=owners[ci], title=rnd.choice(
                    ["Annual renewal", "Expansion", "Pilot", "New licences", "续约", "扩容"]),
                    amount=float(rnd.choice([5, 8, 12, 20, 35, 50, 80, 120]) * 1000), currency="USD", stage=stage,
                    stage_changed_at=changed, created_at=changed - timedelta(days=rnd.randint(0, 60)),
                    closed_at=changed if stage in ("won", "lost") else None,
                    expected_close=(now + timedelta(days=rnd.randint(-10, 90))).date()))
            if rnd.random() < 0.2:
                due = now + timedelta(hours=rnd.randint(-24 * 10, 24 * 20))
                task_rows.append(dict(customer_id=cid, owner_id=owners[ci], created_by_id=owners[ci],
                                      title=rnd.choice(TASKS), due_at=due, status="open",
                                      reminded_at=due if due < now else None, reminder_attempts=0, created_at=now))
            if customer_rows[ci]["telegram_chat_id"] and rnd.random() < 0.1:
                opened = now - timedelta(hours=rnd.randint(1, 24 * 30))
                resolved = rnd.random() < 0.6
                ticket_rows.append(dict(
                    customer_id=cid, status="resolved" if resolved else "open", assignee_id=owners[ci],
                    subject=rnd.choice(NOTES_ZH if zh_flags[ci] else NOTES_EN), opened_at=opened,
                    last_inbound_at=opened, first_response_at=opened + timedelta(minutes=rnd.randint(2, 600)),
                    resolved_at=opened + timedelta(hours=rnd.randint(1, 72)) if resolved else None,
                    rating=rnd.choice([3, 4, 5, 5, 5, 2]) if resolved else None, out_of_office_sent=False))
        _insert(conn, Deal.__table__, deal_rows)
        _insert(conn, Task.__table__, task_rows)
        _insert(conn, Ticket.__table__, ticket_rows)
    if db.dialect == "postgresql":
        # explicit ids were inserted: move the sequences past them
        with db.engine.begin() as conn:
            for table in ("staff", "company", "customer"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    return SeedResult(len(staff_rows), customers, n_companies, total, len(rel_rows), len(deal_rows), len(task_rows),
                      len(ticket_rows))
