"""Two instances against one, on one PostgreSQL: does a second `crm-bot run` add throughput?

    .venv/bin/python bench/load_scaling.py [--rounds 2] [--commands 1000] [--chats 500] [--per-chat 10]
                                           [--database-url postgresql+psycopg://user@host:port/postgres]

Starts a throw-away PostgreSQL server (tests/pg.py: initdb in a temp folder, fsync off) unless
``--database-url`` names one, then runs bench/load.py's burst (signed slash commands and
Telegram updates at once, same seed, same sizes) against one instance and against two
instances sharing the store, each on a fresh database, alternating (1, 2, 1, 2 …) so that a
change in the machine's load hits both sides alike. Every run is checked as load.py checks it
(zero errors, nothing lost, nothing stored twice, every command answered).

The ratio alone does not say why it is what it is, so each run also measures, during the burst:

* CPU seconds of every process of ours: the servers, PostgreSQL (postmaster, its backends and
  the ones that exited), the load generator (this process) and the Slack/Telegram stand-ins,
  per 1,000 requests and as cores busy (CPU seconds / wall seconds);
* the whole machine's busy share (/proc/stat) and the load average, so the part taken by
  everything else on the machine is visible;
* what PostgreSQL's backends of this database were doing, sampled every 100 ms from
  pg_stat_activity: running a query, waiting for a lock (contention on claims would show here),
  "idle in transaction" (the app holds a transaction open while its Python works) or idle.

Prints a table per run, the ratio two/one per round and its median, and ``BENCH load.pg.*``
lines for bench/run_all.py.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.load import percentile, run_load  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (all its threads), plus its reaped children's with ``children``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # fields[0] is the state (field 3 of proc(5)); utime, stime, cutime, cstime are fields 14-17
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / TICK


def children_of(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    out.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return out


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of every CPU since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


class Meter:
    """bench/load.py's probe: CPU per process group, the machine's busy share, PostgreSQL wait states."""

    def __init__(self, postmaster: int | None, dsn: str):
        self.postmaster, self.dsn = postmaster, dsn
        self.states: Counter = Counter()
        self.blocked: Counter = Counter()  # (waiter's statement, blocker's state and last statement): samples
        self.samples = 0
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def _pg_cpu(self) -> float:
        if self.postmaster is None:
            return float("nan")
        # backends alive now, plus (in the postmaster's cutime) the ones that already exited
        return process_cpu(self.postmaster, children=True) + sum(process_cpu(p) for p in children_of(self.postmaster))

    def _read(self, servers, fakes) -> dict:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {"wall": time.perf_counter(), "servers": sum(process_cpu(s.proc.pid, True) for s in servers),
                "postgresql": self._pg_cpu(), "generator": own.ru_utime + own.ru_stime,
                "stand-ins": process_cpu(fakes._process.pid, True), "machine": machine_jiffies()}

    def burst_started(self, servers, fakes) -> None:
        self.load_before = os.getloadavg()[0]
        self.before = self._read(servers, fakes)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def burst_ended(self, servers, fakes) -> None:
        self.after = self._read(servers, fakes)
        self.load_after = os.getloadavg()[0]
        self._stop.set()
        self._sampler.join(5)

    def _sample(self) -> None:
        """What this database's backends are doing, every 100 ms (the sampler's own backend excluded)."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(0.1):
                rows = conn.execute("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                    "AND backend_type = 'client backend'").fetchall()
                self.samples += 1
                for state, wait_type, wait in rows:
                    if state == "active":
                        key = f"waiting: {wait_type}:{wait}" if wait_type and wait_type != "Client" else "running"
                    else:
                        key = state or "?"
                    self.states[key] += 1
                # who waits on whom: the waiter's statement and the blocker's last one (for a blocker
                # "idle in transaction", the statement its open transaction ran last)
                for wait, waiter, state, blocker in conn.execute(
                        "SELECT w.wait_event, left(regexp_replace(w.query, '\\s+', ' ', 'g'), 110), b.state, "
                        "left(regexp_replace(b.query, '\\s+', ' ', 'g'), 110) FROM pg_stat_activity w "
                        "CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid) "
                        "JOIN pg_stat_activity b ON b.pid = blocking.pid "
                        "WHERE w.datname = current_database() AND w.wait_event_type = 'Lock'").fetchall():
                    self.blocked[(wait, waiter, state, blocker)] += 1

    @property
    def wall(self) -> float:
        return self.after["wall"] - self.before["wall"]

    def cpu(self, group: str) -> float:
        return self.after[group] - self.before[group]

    def machine_busy(self) -> float:
        """Share of the whole machine's CPU that was busy during the burst (every process of everyone)."""
        busy = self.after["machine"][0] - self.before["machine"][0]
        total = self.after["machine"][1] - self.before["machine"][1]
        return busy / total if total else float("nan")

    def mean_backends(self) -> dict[str, float]:
        return {k: v / max(1, self.samples) for k, v in self.states.most_common()}


GROUPS = ("servers", "postgresql", "generator", "stand-ins")


def fresh_database(admin_url: str, name: str) -> str:
    dsn = admin_url.replace("+psycopg", "")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + "/" + name


def one_run(admin_url: str, postmaster: int | None, instances: int, n: int, args) -> dict:
    url = fresh_database(admin_url, f"scaling_{n}_x{instances}")
    meter = Meter(postmaster, url.replace("+psycopg", ""))
    result = run_load(database_url=url, commands=args.commands, users=args.users, chats=args.chats,
                      per_chat=args.per_chat, instances=instances, seed=args.seed, probe=meter,
                      profile=args.profile / f"round{n}-x{instances}" if args.profile else None)
    requests = result.commands + result.updates
    run = {"instances": instances, "result": result, "meter": meter, "rps": requests / meter.wall,
           "slack_rps": result.commands / result.slack_time, "telegram_rps": result.updates / result.telegram_time,
           # acknowledged is not processed: updates are stored first and turned into messages just after
           "stored_rps": result.updates / result.telegram_stored_time}
    cpu = {g: meter.cpu(g) for g in GROUPS}
    ours = sum(cpu.values())
    print(f"\n{instances} instance(s), round {n}: {requests:,} requests in {meter.wall:.1f} s = {run['rps']:.1f} req/s "
          f"(slash commands {run['slack_rps']:.1f}/s, p99 {percentile(result.slack_latencies, 99) * 1000:.0f} ms; "
          f"Telegram {run['telegram_rps']:.1f}/s, p99 {percentile(result.telegram_latencies, 99) * 1000:.0f} ms, "
          f"processed {run['stored_rps']:.1f}/s); "
          f"errors {len(result.errors)}, lost {result.lost}, twice {result.duplicated}, "
          f"answered {result.answers}/{result.commands}")
    print(f"  load average {meter.load_before:.1f} -> {meter.load_after:.1f}; machine busy "
          f"{meter.machine_busy() * 100:.0f}% of {os.cpu_count()} cores; ours {ours / meter.wall:.2f} cores")
    print("  CPU during the burst: " + ", ".join(
        f"{g} {cpu[g]:.1f} s ({cpu[g] / meter.wall:.2f} cores, {cpu[g] / requests * 1000:.1f} s per 1,000 req)"
        for g in GROUPS))
    print("  PostgreSQL backends (mean number, sampled every 100 ms): " + ", ".join(
        f"{state} {mean:.2f}" for state, mean in meter.mean_backends().items()))
    for (wait, waiter, state, blocker), count in meter.blocked.most_common(6):
        print(f"    {count / max(1, meter.samples):.2f} waiting on {wait}: {waiter!r}\n"
              f"         blocked by ({state}) {blocker!r}")
    for line in result.errors[:5]:
        print("    " + line)
    return run


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", help="an existing PostgreSQL server (its admin database); default: a "
                                          "throw-away server started here")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--commands", type=int, default=1000)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--chats", type=int, default=500)
    p.add_argument("--per-chat", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", type=Path, help="py-spy profiles of every server into this folder "
                                                "(bench/profile_summary.py reads them)")
    args = p.parse_args()
    server = None
    if args.database_url:
        admin_url, postmaster = args.database_url, None
    else:
        from tests.pg import PostgresServer

        server = PostgresServer().start()
        admin_url = server.url()
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    runs: list[dict] = []
    try:
        for n in range(1, args.rounds + 1):
            for instances in (1, 2):
                runs.append(one_run(admin_url, postmaster, instances, n, args))
    finally:
        if server is not None:
            server.stop()
    ok = all(r["result"].ok for r in runs)
    ratios = [two["rps"] / one["rps"] for one, two in zip(runs[::2], runs[1::2])]
    print(f"\nTwo instances / one on one PostgreSQL ({args.commands:,} slash commands + "
          f"{args.chats * args.per_chat:,} Telegram updates at once, same run):")
    for n, (one, two, ratio) in enumerate(zip(runs[::2], runs[1::2], ratios), 1):
        print(f"  round {n}: {two['rps']:.1f} / {one['rps']:.1f} req/s = x{ratio:.2f} (slash commands "
              f"x{two['slack_rps'] / one['slack_rps']:.2f}, Telegram x{two['telegram_rps'] / one['telegram_rps']:.2f}, "
              f"Telegram processed x{two['stored_rps'] / one['stored_rps']:.2f});"
              f" load average {one['meter'].load_before:.1f} / {two['meter'].load_before:.1f}")
    median = statistics.median(ratios)
    ones, twos = [r for r in runs if r["instances"] == 1], [r for r in runs if r["instances"] == 2]
    print(f"BENCH load.pg.x1_rps={statistics.median(r['rps'] for r in ones):.1f} req/s")
    print(f"BENCH load.pg.x2_rps={statistics.median(r['rps'] for r in twos):.1f} req/s")
    print(f"BENCH load.pg.ratio={median:.2f} x")
    for label, group in (("x1", ones), ("x2", twos)):  # a second instance should add no CPU per request
        per_1000 = statistics.median(r["meter"].cpu("servers") / (r["result"].commands + r["result"].updates) * 1000
                                     for r in group)
        print(f"BENCH load.pg.server_cpu_{label}={per_1000:.1f} s")
    print(f"BENCH load.pg.machine_busy={statistics.median(r['meter'].machine_busy() for r in runs) * 100:.0f} %")
    print(f"BENCH load.pg.loadavg={statistics.median(r['meter'].load_before for r in runs):.1f}")
    print(f"BENCH load.pg.errors={sum(len(r['result'].errors) + r['result'].lost + r['result'].duplicated for r in runs)} count")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
