"""`make bench`: every benchmark in bench/, each in its own process, then one summary table.

    .venv/bin/python bench/run_all.py [--quick] [--full] [--only NAME ...]

Each benchmark runs as a subprocess (its output streams to stderr as it goes); its peak
memory is the ``ru_maxrss`` that ``wait4`` reports for it. Figures are read from what each
benchmark prints: ``BENCH name=value unit`` lines where a script prints them (bench/load.py),
otherwise the script's own table. A benchmark that is missing, fails or prints something
unreadable shows "n/a" with the reason; the table is always printed.

Seeded stores are shared through bench/common.py's cache (bench/results/seed-N-42.db), so
the 10k and 100k stores are seeded once, by whichever benchmark needs them first.

``--quick`` runs at 10k customers and smaller loads (minutes instead of half an hour);
``--full`` adds the insight quality run on a fresh planted seed.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = Path(os.environ.get("CRM_BENCH_DIR", BENCH / "results"))
NUMBER = r"([0-9][0-9,]*\.?[0-9]*)"


# The last full run before issue 17 (`make bench`, 2026-11-23), kept verbatim: its figures are
# printed beside this run's, row by row. Different runs on this shared machine are not comparable
# one to one: the ratios measured within one run (against raw sqlite3, one instance against two,
# before/after in the same process) are what to compare.
BASELINE_FILE = BENCH / "baseline_2026-11-23.txt"
BASELINE_LABEL = "before (2026-11-23 run)"


def read_baseline(path: Path = BASELINE_FILE) -> dict[str, str]:
    """figure → its result in the recorded table (columns are separated by two or more spaces)."""
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    widths = [len(dashes) for dashes in lines[rule].split("  ")]
    out = {}
    for line in lines[rule + 1:]:
        if not line.strip():
            continue
        start = widths[0] + 2
        figure, result = line[:widths[0]].rstrip(), line[start:start + widths[1]].strip()
        reference = line[start + widths[1] + 2:start + widths[1] + 2 + widths[2]].strip()
        # a reference measured in that run (raw sqlite3, igraph) belongs to the figure; a target does not
        measured = reference and not any(t in reference for t in ("<", ">", "every ack", "limit")) and reference != "0"
        out[figure] = f"{result}; {reference}" if measured else result
    return out


PREVIOUS = read_baseline()


def num(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass
class Run:
    """One benchmark process: what it printed, how it ended, its peak memory."""

    name: str
    output: str = ""
    returncode: int | None = None
    seconds: float = 0.0
    peak_mb: float | None = None
    problem: str | None = None  # why its figures are n/a

    def bench_lines(self) -> dict[str, str]:
        return {m.group(1): m.group(2).strip() for m in re.finditer(r"^BENCH ([\w.]+)=(.+)$", self.output, re.M)}


@dataclass
class Bench:
    name: str
    script: str
    args: list[str]
    rows: Callable[[Run], list[tuple[str, str, str]]]  # (figure, value, reference)
    timeout: float = 3600
    runs: list[Run] = field(default_factory=list)


def run(bench: Bench) -> Run:
    result = Run(bench.name)
    script = BENCH / bench.script
    if not script.exists():
        result.problem = f"{bench.script} is missing"
        return result
    command = [sys.executable, str(script), *bench.args]
    print(f"\n=== {bench.name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []

    def pump():
        for line in proc.stdout:
            lines.append(line)
            sys.stderr.write("    " + line)
            sys.stderr.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timer = threading.Timer(bench.timeout, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    reader.join(10)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result.returncode = proc.returncode
    result.seconds = time.perf_counter() - started
    result.peak_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    result.output = "".join(lines)
    if result.seconds >= bench.timeout:
        result.problem = f"killed after {bench.timeout:.0f} s"
    elif result.returncode != 0:
        last = next((line for line in reversed(lines) if line.strip()), "").strip()
        result.problem = f"exit {result.returncode}: {last[:80]}"
    return result


# ---- reading each benchmark's output --------------------------------------------------------

def find(pattern: str, text: str, flags=re.M) -> re.Match:
    match = re.search(pattern, text, flags)
    if match is None:
        raise LookupError(f"no line matching {pattern!r}")
    return match


def commands_rows(r: Run) -> list[tuple[str, str, str]]:
    customers = find(r"at " + NUMBER + r" customers", r.output).group(1)
    rows = []
    for name in ("find", "show", "log"):
        m = find(rf"^{name}\s+\d+\s+{NUMBER}\s+{NUMBER}", r.output)
        rows.append((f"/crm {name} at {customers} customers", f"p50 {m.group(1)} ms, p99 {m.group(2)} ms",
                     "p99 < 25 ms"))
    return rows


def dates_rows(r: Run) -> list[tuple[str, str, str]]:
    m = find(r"^all\s+\d+\s+\S+\s+" + NUMBER + r"\s+" + NUMBER, r.output)
    return [("parse_when (en + zh phrases)", f"p50 {m.group(1)} µs, p99 {m.group(2)} µs", "")]


def nlu_rows(r: Run) -> list[tuple[str, str, str]]:
    cv = find(r"^intent macro-F1, \d+-fold grouped CV: " + NUMBER + r"\s+en " + NUMBER + r"\s+zh " + NUMBER, r.output)
    speed = find(r"^read_message per message: p50 " + NUMBER + r" ms, p99 " + NUMBER + " ms", r.output)
    cpu = re.search(r"^read_message CPU time per message: p50 \S+ ms, p99 " + NUMBER + " ms", r.output, re.M)
    batches = {m.group(1): m for m in re.finditer(r"^reading, (bench text|corpus), batches of \d+: " + NUMBER
                                                  + r" µs CPU per message against (\S+)'s " + NUMBER
                                                  + r" µs \(x" + NUMBER, r.output, re.M)}
    notes = find(r"^staff notes .*?customer " + NUMBER + r"\s+kind " + NUMBER + r"\s+occurred " + NUMBER
                 + r"\s+follow_up " + NUMBER + r"\s+amount " + NUMBER, r.output)
    return [("customer-message intent, grouped CV", f"macro-F1 {cv.group(1)} (en {cv.group(2)}, zh {cv.group(3)})",
             ">= 0.85"),
            ("  … time per message", f"p50 {speed.group(1)} ms, p99 {speed.group(2)} ms"
             + (f" (CPU p99 {cpu.group(1)} ms)" if cpu else ""), "< 5 ms"),
            *[(f"  … read in the processor's batches, {what}", f"{m.group(2)} µs CPU/message, {m.group(3)}'s "
               f"{m.group(4)} µs: x{m.group(5)} less (same run)", "x2.5 less") for what, m in batches.items()],
            ("staff notes, fields right", f"customer {notes.group(1)}, kind {notes.group(2)}, when {notes.group(3)}, "
                                          f"follow-up {notes.group(4)}, amount {notes.group(5)}", ">= 0.90 each")]


def slack_ack_rows(r: Run) -> list[tuple[str, str, str]]:
    customers = find(r"/crm show over Slack HTTP, " + NUMBER + " customers", r.output).group(1)
    ack = find(r"^ack \(HTTP 200 to Slack\)\s+" + NUMBER + r"\s+" + NUMBER, r.output)
    card = find(r"^card at response_url\s+" + NUMBER + r"\s+" + NUMBER, r.output)
    return [(f"Slack /crm show ack at {customers} customers", f"p50 {ack.group(1)} ms, p99 {ack.group(2)} ms",
             "< 3,000 ms"),
            ("  … card at the response_url", f"p50 {card.group(1)} ms, p99 {card.group(2)} ms", "")]


def ingest_rows(r: Run) -> list[tuple[str, str, str]]:
    b = r.bench_lines()
    get = lambda key: b[f"telegram_ingest.{key}"].split()[0]  # noqa: E731
    rows = [("Telegram ingestion (webhook → stored)", f"{int(get('stored_rate')):,} msg/s",
             f"raw sqlite3 {int(get('raw_rate')):,} rows/s (×{get('stored_ratio')})"),
            ("  … acknowledged (stored as received)", f"{int(get('ack_rate')):,} msg/s", f"×{get('ack_ratio')} of raw")]
    if "telegram_ingest.before_stored_rate" in b:
        rows.append((f"  … same run, before ({get('before_ref')})", f"{int(get('before_stored_rate')):,} msg/s",
                     f"×{get('before_stored_ratio')} of raw"))
    return rows


def relay_rows(r: Run) -> list[tuple[str, str, str]]:
    b = r.bench_lines()
    get = lambda key: b[f"relay.{key}"].split()[0]  # noqa: E731
    return [(f"relay burst: {int(get('messages')):,} messages, one channel",
             f"{int(get('posts')):,} posts in {get('seconds')} s, {get('rate')} posts/s",
             f"limit {get('limit')}/s; refused {get('refused')}, lost {get('lost')}")]


def insights_rows(r: Run) -> list[tuple[str, str, str]]:
    job = find(r"whole job: " + NUMBER + r" s.*?= " + NUMBER + " MiB together", r.output)
    customers = find(r"nightly job at " + NUMBER + " customers", r.output).group(1)
    rows = [(f"nightly insight job at {customers} customers", f"{job.group(1)} s, {job.group(2)} MiB",
             "< 60 s, < 2,048 MiB")]
    # bench_insights.py's side-by-side table: algorithm, igraph, networkx, ×ratio, hand-written, ×ratio
    for m in re.finditer(r"^(\S.+?)\s{2,}" + NUMBER + r" s\s+" + NUMBER + r" s\s+×" + NUMBER, r.output, re.M):
        rows.append((f"  {m.group(1).strip()}", f"igraph {m.group(2)} s", f"networkx {m.group(3)} s (×{m.group(4)})"))
    return rows


def digest_rows(r: Run) -> list[tuple[str, str, str]]:
    m = find(r"customers: digest build median " + NUMBER + " s, max " + NUMBER + r" s; chart median "
             + NUMBER + " s, max " + NUMBER + r" s; build \+ chart max " + NUMBER, r.output)
    return [("digest build per manager", f"median {m.group(1)} s, max {m.group(2)} s", "< 5 s"),
            ("  … with its chart", f"max {m.group(5)} s", "< 5 s")]


def campaign_rows(r: Run) -> list[tuple[str, str, str]]:
    limit = find(r"limit\s+" + NUMBER + " msg/s", r.output).group(1)
    achieved = find(r"achieved\s+" + NUMBER + " msg/s", r.output).group(1)
    return [("campaign send rate", f"{achieved} msg/s", f"limit {limit} msg/s")]


def load_rows(r: Run) -> list[tuple[str, str, str]]:
    b = r.bench_lines()
    mode = next((k.split(".")[1] for k in b if k.startswith("load.")), None)
    if mode is None:
        raise LookupError("no BENCH load.* lines")
    get = lambda key: b[f"load.{mode}.{key}"].split()[0]  # noqa: E731
    label = {"single": "", "crash": ", kill -9 mid-burst"}.get(mode, f", {mode[1:]} instances")
    return [(f"load: slash commands{label}", f"{get('slack_rps')} req/s, p50 {get('slack_p50')} ms, "
             f"p99 {get('slack_p99')} ms", "every ack < 3 s"),
            (f"load: Telegram updates{label}", f"{get('telegram_rps')} req/s, p50 {get('telegram_p50')} ms, "
             f"p99 {get('telegram_p99')} ms", "every ack < 3 s"),
            (f"load: errors, lost or stored twice{label}", get("errors"), "0")]


def scaling_rows(r: Run) -> list[tuple[str, str, str]]:
    b = r.bench_lines()
    get = lambda key: b[f"load.pg.{key}"].split()[0]  # noqa: E731
    cpu = (f"; servers' CPU per 1,000 req {b['load.pg.server_cpu_x1'].split()[0]} / "
           f"{b['load.pg.server_cpu_x2'].split()[0]} s" if "load.pg.server_cpu_x2" in b else "")
    return [("load on PostgreSQL: one instance", f"{get('x1_rps')} req/s", "same run, same load" + cpu),
            ("load on PostgreSQL: two instances", f"{get('x2_rps')} req/s (×{get('ratio')} of one)",
             f">= ×1.6; machine {get('machine_busy')}% busy, load average {get('loadavg')}"),
            ("load on PostgreSQL: errors, lost or stored twice", get("errors"), "0")]


def benches(quick: bool, full: bool) -> list[Bench]:
    big = "10000" if quick else "100000"
    n = "100" if quick else "300"
    out = [
        Bench("commands 10k", "bench_commands.py", ["--customers", "10000", "--n", n], commands_rows),
        Bench("commands 100k", "bench_commands.py", ["--customers", "100000", "--n", n], commands_rows),
        Bench("dates", "bench_dates.py", [], dates_rows),
        Bench("nlu", "bench_nlu.py", ["--folds", "3" if quick else "5"], nlu_rows),
        Bench("slack ack", "bench_slack_ack.py", ["--customers", big, "--n", n], slack_ack_rows),
        Bench("telegram ingest", "bench_telegram_ingest.py", ["--n", "1000" if quick else "3000"], ingest_rows),
        Bench("insights", "bench_insights.py",
              ["--customers", big, "--n", "50" if quick else "200"] + ([] if full else ["--skip-quality"]),
              insights_rows),
        Bench("digest", "bench_digest.py", ["--customers", big, "--repeat", "1" if quick else "3"], digest_rows),
        Bench("campaign", "bench_campaign.py", ["--recipients", "300" if quick else "600"], campaign_rows),
        Bench("load", "load.py", ["--commands", "300", "--chats", "100"] if quick else [], load_rows),
        Bench("load postgresql x2", "load_scaling.py",
              # bursts of 10 s and more: since the new ingest path, 1,300 requests were a 5 s burst
              ["--rounds", "1" if quick else "2", "--commands", "600" if quick else "1000",
               "--chats", "300" if quick else "500"], scaling_rows),
        Bench("relay burst", "bench_relay_burst.py",
              ["--messages", "1000" if quick else "5000", "--timeout", "600" if quick else "1200"], relay_rows),
    ]
    if quick:
        out = [b for b in out if b.name != "commands 100k"]
    return out


def summary(results: list[tuple[Bench, Run]]) -> str:
    rows = []
    for bench, result in results:
        peak = f"{result.peak_mb:,.0f} MB" if result.peak_mb else "—"
        figures: list[tuple[str, str, str]] = []
        if result.problem is None:
            try:
                figures = bench.rows(result)
            except (LookupError, ValueError, KeyError, IndexError) as exc:
                result.problem = f"output not understood ({exc})"
        if result.problem is not None:
            rows.append((bench.name, f"n/a: {result.problem[:90]}", "", peak))
            continue
        for i, (figure, value, reference) in enumerate(figures):
            rows.append((figure, value, reference, peak if i == 0 else "", PREVIOUS.get(figure, "")))
    shown = {row[0] for row in rows}
    for figure, before in PREVIOUS.items():  # recorded then, not measured (or renamed) in this run
        if figure not in shown:
            rows.append((figure, "not measured in this run", "", "", before))
    headers = ("benchmark", "result", "reference / target", "peak RSS", BASELINE_LABEL)
    rows = [row if len(row) == 5 else (*row, "") for row in rows]
    widths = [max(len(str(row[i])) for row in rows + [headers]) for i in range(5)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10k customers and smaller loads")
    p.add_argument("--full", action="store_true", help="include the insight quality run")
    p.add_argument("--only", nargs="*", help="benchmark names to run (default: all)")
    args = p.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in benches(args.quick, args.full) if not args.only or b.name in args.only]
    started = time.perf_counter()
    results = []
    for bench in chosen:
        try:
            results.append((bench, run(bench)))
        except Exception as exc:  # the table is printed whatever one benchmark does
            results.append((bench, Run(bench.name, problem=f"could not run: {exc}")))
    table = summary(results)
    width = shutil.get_terminal_size((120, 20)).columns
    print("\n" + "=" * min(width, 120))
    print(f"crm-bot benchmarks ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"{time.perf_counter() - started:.0f} s in all)")
    print(table)
    (RESULTS / "summary.txt").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
