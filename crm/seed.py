"""Realistic synthetic data: `crm-bot seed`, `crm-bot demo` and the benchmarks.

Deterministic for a given seed. Rows go in with bulk inserts in chunks, so 100k customers
with about a million interactions take well under a minute on SQLite.

The data has planted structure, so the insight job can be measured against known answers
(bench/bench_insights.py):

* communities: customers belong to clusters (an ecosystem of companies around one industry
  and territory); relationships and companies stay mostly inside a cluster;
* connectors: a few customers with many relationships across clusters, heavy-tailed like real account
  graphs (``connector_links``: the r-th of them has ``CONNECTOR_LINKS`` x n / r links, Zipf's law), so
  the top 20 by betweenness is a real ranking rather than a draw among identical connectors;
* churn with known causes: silence, unresolved tickets, bad ratings and stalled deals raise
  the odds that a customer churned (``stage="churned"``, ``churned_at``); a churned
  customer's history stops at its churn date;
* must-contact customers: per rep, valuable accounts that are silent, with a stalled big
  deal and an unanswered ticket.

The ground truth goes into ``InsightBlob`` key ``seed_truth`` (zlib-compressed JSON, see
``read_seed_truth``); the product never reads it.
"""
from __future__ import annotations

import json
import math
import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, func, insert, select, text

from crm.customers import phone_key
from crm.db import Database
from crm.models import Company, Customer, Deal, InsightBlob, Interaction, Relationship, Staff, Task, Ticket
from crm.search import build_search_cjk, build_search_text
from crm.types import utcnow

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
SEED_TRUTH_KEY = "seed_truth"
CLUSTER_SIZE = 150  # customers per planted cluster, on average
INSIDE_CLUSTER = 0.92  # share of ordinary relationships that stay inside the cluster
CONNECTOR_LINKS = 40  # the fewest links a planted connector has (the last of them); the first has n times more
MUST_CONTACT_PER_REP = 12
DAY = timedelta(days=1)

# what customers of each industry talk about (so conversations say something about behaviour)
TOPICS_EN = {
    "software": ["api rate limits", "sso integration", "licence true-up", "release notes review"],
    "retail": ["holiday season stock", "store rollout", "point of sale upgrade", "loyalty programme"],
    "manufacturing": ["production line sensors", "spare parts pricing", "factory downtime", "iso audit"],
    "logistics": ["fleet tracking", "warehouse scanners", "route optimisation", "customs paperwork"],
    "finance": ["compliance report", "audit trail export", "risk dashboard", "data residency"],
    "health": ["patient data privacy", "clinic rollout", "hipaa questions", "appointment reminders"],
    "energy": ["meter data feed", "grid monitoring", "field crew app", "outage alerts"],
    "media": ["content licensing", "streaming analytics", "ad inventory", "newsroom workflow"],
}
TOPICS_ZH = {
    "software": ["接口限流", "单点登录集成", "许可证核对"], "retail": ["节日备货", "门店上线", "会员计划"],
    "manufacturing": ["产线传感器", "备件价格", "工厂停机"], "logistics": ["车队追踪", "仓库扫码", "报关资料"],
    "finance": ["合规报表", "审计导出", "风险看板"], "health": ["患者隐私", "诊所上线", "预约提醒"],
    "energy": ["电表数据", "电网监控", "停电告警"], "media": ["内容授权", "播放分析", "广告库存"],
}
# what unhappy customers write on Telegram
COMPLAINTS_EN = ["still waiting for a fix on my ticket", "nobody answered my question yet", "the delivery is late again",
                 "this bug is blocking our team", "please escalate, it has been days"]
COMPLAINTS_ZH = ["我的工单还没有解决", "一直没有人回复我", "又延迟发货了", "这个问题影响了我们团队", "请尽快处理，已经好几天了"]
BAD_RATING_EN = ["very disappointed with support", "the answer did not help at all", "support was slow and unhelpful"]
BAD_RATING_ZH = ["对客服很失望", "回答完全没有帮助", "支持又慢又没用"]
HAPPY_EN = ["thanks, that fixed it", "great service as always", "the team loves the new version"]
HAPPY_ZH = ["谢谢，问题解决了", "服务一如既往的好", "团队很喜欢新版本"]


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
    connectors: int = 0
    clusters: int = 0
    churned: int = 0
    must_contact: int = 0


def _insert(conn, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[i:i + CHUNK])


def read_seed_truth(db: Database) -> dict | None:
    """The planted answers of the last seed: ``community`` (customer id -> cluster), ``connectors``,
    ``must_contact`` (staff id -> customer ids), ``churn_causes`` (customer id -> causes)."""
    with db.engine.connect() as conn:
        payload = conn.execute(select(InsightBlob.payload).where(InsightBlob.key == SEED_TRUTH_KEY)).scalar()
    if payload is None:
        return None
    truth = json.loads(zlib.decompress(payload))
    first = truth.pop("first_customer_id")
    truth["community"] = {first + i: c for i, c in enumerate(truth.pop("cluster_of"))}
    truth["must_contact"] = {int(k): v for k, v in truth["must_contact"].items()}
    truth["churn_causes"] = {int(k): v for k, v in truth["churn_causes"].items()}
    return truth


def connector_links(n_connectors: int) -> list[int]:
    """Links of each planted connector, heaviest first: Zipf's law, the r-th has ``CONNECTOR_LINKS`` x n / r
    (1,000 connectors at 1M customers: 40,000 links for the first, 2,000 for the 20th, 40 for the last).
    Real account graphs are heavy-tailed (a few key accounts with very many links); 1,000 identical
    connectors made the top 20 by betweenness a draw that no estimate can repeat."""
    return [CONNECTOR_LINKS * n_connectors // r for r in range(1, n_connectors + 1)]


def unique_names(taken: set[str]) -> Callable[[str], str]:
    """Staff names not yet in ``taken`` ("Ada Admin", else "Ada Admin 2", ...), each added as it is given:
    a second seed into the same store must not make two staff members of one name."""
    def unique(name: str) -> str:
        candidate, k = name, 1
        while candidate in taken:
            k += 1
            candidate = f"{name} {k}"
        taken.add(candidate)
        return candidate
    return unique



def team_size(customers: int) -> tuple[int, int]:
    """(reps, managers) for a store of ``customers``: a rep per ~2,000 customers, 4 to 60, a manager per 8."""
    n_reps = max(4, min(60, customers // 2000 + 6))
    return n_reps, max(1, n_reps // 8)


def staff_members(*, start: int, n_reps: int, n_managers: int, tag: str, unique: Callable[[str], str],
                  now: datetime, chinese_name: Callable[[], str]) -> tuple[list[dict], list[int], list[int]]:
    """The seeded team (an admin, managers, reps; every fifth rep Chinese, named by ``chinese_name()``,
    called once per such rep in order): (staff rows naming every column, manager ids, rep ids).
    Shared by ``seed`` and crm.seed_bulk, which draw the Chinese names from their own generators."""
    rows = [dict(id=start + 1, name=unique("Ada Admin"), role="admin",
                 email=f"admin{('.' + tag) if tag else ''}@crm.example", timezone="UTC", language="en",
                 # every row names every column: executemany takes the first row's keys
                 manager_id=None, prefers_telegram=False, digest_subscribed=False, active=True, created_at=now)]
    manager_ids, rep_ids = [], []
    for i in range(n_managers):
        sid = start + 2 + i
        manager_ids.append(sid)
        rows.append(dict(id=sid, name=unique(f"{FIRST[(i * 13 + 5) % 50]} {LAST[(i * 7 + 3) % 50]}"),
                         role="manager", email=f"manager{i + 1}{tag}@crm.example", manager_id=None,
                         timezone=TIMEZONES[i % len(TIMEZONES)], language="en", prefers_telegram=False,
                         digest_subscribed=True, active=True, created_at=now))
    for i in range(n_reps):
        sid = start + 2 + n_managers + i
        rep_ids.append(sid)
        zh = i % 5 == 4
        name = chinese_name() if zh else f"{FIRST[(i * 3) % 50]} {LAST[(i * 11) % 50]}"
        rows.append(dict(id=sid, name=unique(name), role="rep", email=f"rep{i + 1}{tag}@crm.example",
                         manager_id=manager_ids[i % n_managers],
                         timezone="Asia/Shanghai" if zh else TIMEZONES[i % len(TIMEZONES)],
                         language="zh" if zh else "en", prefers_telegram=False, digest_subscribed=False,
                         active=True, created_at=now))
    return rows, manager_ids, rep_ids


def seed(db: Database, customers: int = 1000, *, seed: int = 42, now: datetime | None = None,
         interactions_per_customer: float = 10.0, relationships_per_customer: float = 3.0,
         progress: Callable[[str], None] | None = None) -> SeedResult:
    """Add a realistic CRM with planted structure to the store (staff, companies, customers, history)."""
    rnd = random.Random(seed)
    now = now or utcnow()
    say = progress or (lambda _msg: None)
    n_reps, n_managers = team_size(customers)

    with db.engine.begin() as conn:
        start_staff = conn.execute(select(func.coalesce(func.max(Staff.id), 0))).scalar_one()
        start_company = conn.execute(select(func.coalesce(func.max(Company.id), 0))).scalar_one()
        start_customer = conn.execute(select(func.coalesce(func.max(Customer.id), 0))).scalar_one()
        tag = f"s{seed}-{start_customer}" if start_customer else ""

        say("staff")
        taken = {n for (n,) in conn.execute(select(Staff.name))}
        unique = unique_names(taken)

        staff_rows, manager_ids, rep_ids = staff_members(
            start=start_staff, n_reps=n_reps, n_managers=n_managers, tag=tag, unique=unique, now=now,
            chinese_name=lambda: rnd.choice(ZH_SURNAMES) + rnd.choice(ZH_GIVEN))
        _insert(conn, Staff.__table__, staff_rows)

        # planted clusters: contiguous runs of customers with their own companies, industry and reps
        n_clusters = max(2, round(customers / CLUSTER_SIZE)) if customers >= 20 else 1
        bounds = sorted(rnd.sample(range(1, customers), n_clusters - 1)) if n_clusters > 1 else []
        cluster_start = [0] + bounds
        cluster_end = bounds + [customers]
        cluster_industry = [rnd.choice(INDUSTRIES) for _ in range(n_clusters)]
        cluster_reps = [(rnd.choice(rep_ids), rnd.choice(rep_ids)) for _ in range(n_clusters)]
        cluster_of = [0] * customers
        for k in range(n_clusters):
            for ci in range(cluster_start[k], cluster_end[k]):
                cluster_of[ci] = k

        say("companies")
        n_companies = max(5, customers // 4)
        company_rows, company_names, company_cluster = [], [], []
        used = {n for (n,) in conn.execute(select(Company.name))}
        for i in range(n_companies):
            zh = rnd.random() < 0.2
            base = (rnd.choice(ZH_CO_A) + rnd.choice(ZH_CO_B)) if zh else f"{rnd.choice(CO_A)} {rnd.choice(CO_B)}"
            name = base if base not in used else f"{base} {i}"
            used.add(name)
            company_names.append(name)
            k = min(n_clusters - 1, i * n_clusters // n_companies)
            company_cluster.append(k)
            company_rows.append(dict(id=start_company + 1 + i, name=name, industry=cluster_industry[k],
                                     domain=None if zh else name.lower().replace(" ", "") + ".example", created_at=now))
        _insert(conn, Company.__table__, company_rows)
        companies_of_cluster: list[list[int]] = [[] for _ in range(n_clusters)]
        for i, k in enumerate(company_cluster):
            companies_of_cluster[k].append(i)

        say("customers")
        n_connectors = max(3, customers // 1000) if customers >= 200 else 0
        connector_order = rnd.sample(range(customers), n_connectors) if n_connectors else []
        connectors = set(connector_order)
        customer_rows, zh_flags, owners, profiles = [], [], [], []
        for i in range(customers):
            cid = start_customer + 1 + i
            k = cluster_of[i]
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
            pool = companies_of_cluster[k] or [rnd.randrange(n_companies)]
            company_i = rnd.choice(pool)
            owner = cluster_reps[k][0] if rnd.random() < 0.8 else rnd.choice(rep_ids)
            tier = rnd.choices(["standard", "silver", "gold", "vip"], [60, 20, 13, 7])[0]
            profile = _profile(rnd, now, i in connectors)
            stage = profile["stage"]
            tags = ",".join(rnd.sample(["renewal", "enterprise", "smb", "partner", "trial", "apac", "emea"],
                                       rnd.randint(0, 2)))
            created = now - timedelta(days=rnd.randint(400, 900))
            on_telegram = profile["tickets"] or profile["bad_rating"] or rnd.random() < 0.3
            customer_rows.append(dict(
                id=cid, name=name, name_key=name.casefold(), company_id=start_company + 1 + company_i, email=email,
                phone=phone, phone_key=phone_key(phone), language="zh" if zh else "en", tier=tier, stage=stage,
                owner_id=owner, tags=tags, marketing_opt_out=rnd.random() < 0.05, telegram_blocked=False,
                search_text=build_search_text(name, company_names[company_i], email, phone, tags),
                search_cjk=build_search_cjk(name, company_names[company_i]),
                churned_at=profile["ref"] if stage == "churned" else None,
                created_at=created, updated_at=created,
                telegram_chat_id=(900_000_000 + cid) if on_telegram else None))
            zh_flags.append(zh)
            owners.append(owner)
            profiles.append(profile)

        must_contact = _plant_must_contact(rnd, now, customer_rows, profiles, owners, rep_ids, connectors)
        for i in must_contact:
            customer_rows[i]["telegram_chat_id"] = 900_000_000 + customer_rows[i]["id"]
        _insert(conn, Customer.__table__, customer_rows)

        say("relationships")
        rel_rows, seen, rel_total = [], set(), 0
        kinds = ["referred", "knows", "works-with"]

        def relate(a: int, b: int, rnd: random.Random = rnd) -> None:
            kind = rnd.choice(kinds)
            if a == b or (a, b, kind) in seen:
                return
            seen.add((a, b, kind))
            rel_rows.append(dict(from_customer_id=start_customer + 1 + a, to_customer_id=start_customer + 1 + b,
                                 kind=kind, strength=round(rnd.uniform(0.3, 1.0), 2), created_at=now))
            if len(rel_rows) >= CHUNK:  # written as they come: a million customers' rows never sit in memory at once
                flush_relationships()

        def flush_relationships() -> None:
            nonlocal rel_rows, rel_total
            _insert(conn, Relationship.__table__, rel_rows)
            rel_total += len(rel_rows)
            rel_rows = []

        for _ in range(round(customers * relationships_per_customer) if customers > 1 else 0):
            a = rnd.randrange(customers)
            k = cluster_of[a]
            if rnd.random() < INSIDE_CLUSTER:
                relate(a, rnd.randrange(cluster_start[k], cluster_end[k]))
            else:
                relate(a, rnd.randrange(customers))
        for a in connectors:
            for _ in range(CONNECTOR_LINKS):
                relate(a, rnd.randrange(customers))
        # the heavy tail beyond the first CONNECTOR_LINKS, from a generator of its own: the main stream
        # (interactions, churn, must-contact) stays what it was before the tail was added
        tail = random.Random(f"{seed}-connector-tail")
        for a, links in zip(connector_order, connector_links(len(connector_order))):
            for _ in range(links - CONNECTOR_LINKS):
                relate(a, tail.randrange(customers), tail)
        flush_relationships()
        seen.clear()

        say("interactions")
        inter_rows, last_contact, total = [], {}, 0
        for ci in range(customers):
            cid = start_customer + 1 + ci
            p = profiles[ci]
            n = max(1, int(rnd.expovariate(1 / interactions_per_customer) + 0.5)) if interactions_per_customer else 0
            zh = zh_flags[ci]
            industry = cluster_industry[cluster_of[ci]]
            topics = (TOPICS_ZH if zh else TOPICS_EN)[industry]
            notes = NOTES_ZH if zh else NOTES_EN
            helper = cluster_reps[cluster_of[ci]][1]
            latest = p["ref"] - p["gap"]
            span = (latest - (p["ref"] - 365 * DAY)).total_seconds()
            replies = p["replies"]
            for j in range(n):
                kind = rnd.choices(["call", "email", "meeting", "chat", "note", "message"], [25, 35, 10, 10, 10, 10])[0]
                if kind == "note":
                    direction = "internal"
                else:
                    direction = "inbound" if rnd.random() < replies else "outbound"
                # the newest interaction sits exactly at the end of the customer's active period
                at = latest if j == 0 else latest - timedelta(seconds=rnd.random() * span)
                if j == 0 and direction == "internal":
                    kind, direction = "email", "outbound"
                staff_id = owners[ci] if rnd.random() < 0.85 else helper
                if kind == "message":
                    direction = "inbound"
                    if p["tickets"] and rnd.random() < 0.6:
                        note = rnd.choice(COMPLAINTS_ZH if zh else COMPLAINTS_EN)
                    elif p["bad_rating"] and rnd.random() < 0.5:
                        note = rnd.choice(BAD_RATING_ZH if zh else BAD_RATING_EN)
                    else:
                        note = rnd.choice(topics + (HAPPY_ZH if zh else HAPPY_EN))
                    channel = "telegram"
                else:
                    note = rnd.choice(topics) + (" · " if zh else ": ") + rnd.choice(notes) if rnd.random() < 0.6 \
                        else rnd.choice(notes)
                    channel = rnd.choice(["slack", "console"])
                inter_rows.append(dict(customer_id=cid, staff_id=staff_id, kind=kind, direction=direction,
                                       channel=channel, text=note, occurred_at=at, created_at=at))
                if direction != "internal" and (cid not in last_contact or at > last_contact[cid]):
                    last_contact[cid] = at
            total += n
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
            p, zh = profiles[ci], zh_flags[ci]
            ref = p["ref"]
            if p["stalled"]:
                changed = ref - timedelta(days=rnd.randint(45, 150))
                deal_rows.append(_deal(rnd, now, cid, owners[ci], rnd.choice(["proposal", "negotiation"]), changed,
                                       p.get("deal_amount")))
            elif rnd.random() < 0.3:
                stage = rnd.choices(["lead", "qualified", "proposal", "negotiation", "won", "lost"],
                                    [15, 20, 25, 15, 15, 10])[0]
                changed = ref - timedelta(days=rnd.randint(0, 25 if stage in OPEN_STAGES else 300))
                deal_rows.append(_deal(rnd, now, cid, owners[ci], stage, changed))
            if p["stage"] != "churned" and rnd.random() < 0.2:
                due = now + timedelta(hours=rnd.randint(-24 * 10, 24 * 20))
                task_rows.append(dict(customer_id=cid, owner_id=owners[ci], created_by_id=owners[ci],
                                      title=rnd.choice(TASKS), due_at=due, status="open",
                                      reminded_at=due if due < now else None, reminder_attempts=0, created_at=now))
            subjects = NOTES_ZH if zh else NOTES_EN
            for _ in range(p["tickets"]):
                complaint = rnd.choice(COMPLAINTS_ZH if zh else COMPLAINTS_EN)
                if p["stage"] == "churned":
                    # still open when they left (the churn cause the insights learn from), closed with the
                    # account afterwards: a demo inbox does not show conversations "waiting 224 days"
                    opened = ref - timedelta(hours=rnd.randint(24 * 4, 24 * 40))
                    ticket_rows.append(_ticket(rnd, cid, owners[ci], complaint, opened, resolved=True,
                                               resolved_at=ref + timedelta(hours=rnd.randint(2, 24 * 5))))
                else:  # a live team answers within days: the open ones are recent
                    opened = now - timedelta(hours=rnd.randint(1, 24 * 6))
                    ticket_rows.append(_ticket(rnd, cid, owners[ci], complaint, opened, resolved=False))
            for _ in range(p["bad_rating"]):
                opened = ref - timedelta(hours=rnd.randint(24 * 5, 24 * 90))
                ticket_rows.append(_ticket(rnd, cid, owners[ci], rnd.choice(subjects), opened, resolved=True,
                                           rating=rnd.choice([1, 2, 2])))
            if not p["tickets"] and not p["bad_rating"] and customer_rows[ci]["telegram_chat_id"] and rnd.random() < 0.3:
                opened = ref - timedelta(hours=rnd.randint(24, 24 * 120))
                ticket_rows.append(_ticket(rnd, cid, owners[ci], rnd.choice(subjects), opened, resolved=True,
                                           rating=rnd.choice([3, 4, 4, 5, 5, 5])))
        _insert(conn, Deal.__table__, deal_rows)
        _insert(conn, Task.__table__, task_rows)
        _insert(conn, Ticket.__table__, ticket_rows)

        say("ground truth")
        truth = dict(first_customer_id=start_customer + 1, cluster_of=cluster_of, seed=seed,
                     connectors=sorted(start_customer + 1 + i for i in connectors),
                     must_contact={}, churn_causes={}, generated_at=now.isoformat())
        for i in must_contact:
            truth["must_contact"].setdefault(str(owners[i]), []).append(start_customer + 1 + i)
        for i, p in enumerate(profiles):
            if p["stage"] == "churned":
                truth["churn_causes"][str(start_customer + 1 + i)] = [c for c in ("silent", "tickets", "bad_rating",
                                                                                  "stalled") if p[c]]
        conn.execute(delete(InsightBlob).where(InsightBlob.key == SEED_TRUTH_KEY))
        conn.execute(insert(InsightBlob.__table__), [dict(key=SEED_TRUTH_KEY, computed_at=now,
                                                          payload=zlib.compress(json.dumps(truth).encode(), 6))])
    if db.dialect == "postgresql":
        # explicit ids were inserted: move the sequences past them
        with db.engine.begin() as conn:
            for table in ("staff", "company", "customer"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    return SeedResult(len(staff_rows), customers, n_companies, total, rel_total, len(deal_rows), len(task_rows),
                      len(ticket_rows), connectors=len(connectors), clusters=n_clusters,
                      churned=sum(1 for p in profiles if p["stage"] == "churned"), must_contact=len(must_contact))


OPEN_STAGES = ("lead", "qualified", "proposal", "negotiation")


def _profile(rnd: random.Random, now: datetime, connector: bool) -> dict:
    """A customer's hidden story: which churn causes it has and whether it churned because of them."""
    silent = rnd.random() < 0.22
    tickets = rnd.choices([0, 1, 2], [85, 11, 4])[0]
    bad_rating = rnd.choices([0, 1, 2], [88, 9, 3])[0]
    stalled = rnd.random() < 0.15
    logit = -4.0 + 3.0 * silent + 2.2 * bool(tickets) + 2.2 * bool(bad_rating) + 2.0 * stalled
    churned = not connector and rnd.random() < 1 / (1 + math.exp(-logit))
    stage = "churned" if churned else rnd.choices(["lead", "prospect", "active"], [15, 20, 65])[0]
    ref = now - timedelta(days=rnd.randint(5, 200)) if churned else now
    gap = timedelta(days=rnd.uniform(60, 160)) if silent else timedelta(days=rnd.uniform(0.2, 20))
    return dict(stage=stage, ref=ref, gap=gap, silent=silent, tickets=tickets, bad_rating=bad_rating,
                stalled=stalled, replies=0.05 if rnd.random() < 0.15 else rnd.uniform(0.3, 0.55))


def _plant_must_contact(rnd, now, rows, profiles, owners, rep_ids, connectors) -> list[int]:
    """Per rep, valuable live accounts going quiet with a stalled big deal and an open ticket."""
    by_owner: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        if row["stage"] != "churned" and i not in connectors:
            by_owner.setdefault(owners[i], []).append(i)
    chosen = []
    for rep in rep_ids:
        pool = by_owner.get(rep, [])
        for i in rnd.sample(pool, min(MUST_CONTACT_PER_REP, len(pool) // 10)):
            rows[i].update(tier="vip", stage="active")
            profiles[i].update(stage="active", ref=now, gap=timedelta(days=rnd.uniform(40, 75)), silent=True,
                               tickets=1, stalled=True, deal_amount=float(rnd.choice([90, 120, 150, 200]) * 1000))
            chosen.append(i)
    return chosen


def _deal(rnd, now, cid, owner, stage, changed, amount=None) -> dict:
    return dict(customer_id=cid, owner_id=owner, title=rnd.choice(
        ["Annual renewal", "Expansion", "Pilot", "New licences", "续约", "扩容"]),
        amount=amount or float(rnd.choice([5, 8, 12, 20, 35, 50, 80, 120]) * 1000), currency="USD", stage=stage,
        stage_changed_at=changed, created_at=changed - timedelta(days=rnd.randint(0, 60)),
        closed_at=changed if stage in ("won", "lost") else None,
        expected_close=(now + timedelta(days=rnd.randint(-10, 90))).date())


def _ticket(rnd, cid, owner, subject, opened, *, resolved: bool, rating: int | None = None,
            resolved_at: datetime | None = None) -> dict:
    return dict(customer_id=cid, status="resolved" if resolved else "open", assignee_id=owner, subject=subject,
                opened_at=opened, last_inbound_at=opened,
                first_response_at=opened + timedelta(minutes=rnd.randint(2, 600)) if resolved or rnd.random() < 0.6
                else None,
                resolved_at=(resolved_at or opened + timedelta(hours=rnd.randint(1, 72))) if resolved else None,
                rating=rating if resolved else None, out_of_office_sent=False)
