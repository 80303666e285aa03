"""Benchmark the understanding layer: customer-message intent and staff-note reading.

Run:  .venv/bin/python bench/bench_nlu.py [--folds 5] [--customers 0]

Prints, on the labelled corpus in tests/corpus:
- intent macro-F1, 5-fold cross-validated with every variant of one hand-written core kept on one
  side (so it measures new wording), per language, and the confusion matrix; the same on the
  hand-written check set with the shipped model;
- time per customer message of ``read_message`` (intent + sentiment + urgency + products +
  amounts), median and p99, against the 5 ms target and against the word lists' scan alone
  (``lexicon.Scanner`` over every list the reader uses, as it runs it; measured in the same run);
- CPU per customer message read the way the Telegram processor reads them (``read_messages`` on
  batches of ``READ_EVERY``) and one at a time, against the reader of ``--baseline`` (git archive of its
  crm/understanding, loaded beside this one), in the same run, alternating: the ratio is the speed-up
  (issue 17). ``--reading-only`` prints just that;
- staff notes: each field's accuracy and the time per note, looked up in a real SQLite store
  (the corpus directory, plus ``--customers`` seeded ones to show the search cost at scale).
"""
from __future__ import annotations

import argparse
import atexit
import importlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile  # noqa: E402
from crm.understanding.intent import INTENTS, _word_lists, model, normalize, read_message  # noqa: E402
from tests.corpus.evaluate import (NOTE_FIELDS, format_confusion, intent_cross_validation, load,  # noqa: E402
                                   note_field_right, report, seed_directory)


def timed(fn, items, clock=time.perf_counter) -> list[float]:
    samples = []
    for item in items:
        start = clock()
        fn(item)
        samples.append(clock() - start)
    return samples


ROOT = Path(__file__).resolve().parent.parent
BASELINE = "1bdeb89"  # main before issue 17's batch reader: read_message one message at a time
BENCH_TEXT = "message {i}: when does my order ship? 订单什么时候发货？"


def baseline_intent(ref: str):
    """crm/understanding as it was at git ``ref``, imported beside this one as ``baseline_understanding``."""
    folder = Path(tempfile.mkdtemp(prefix="crm-nlu-baseline-"))
    atexit.register(shutil.rmtree, folder, True)  # imported from until the end of the run
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "crm/understanding"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    package = folder / "baseline_understanding"
    (folder / "crm" / "understanding").rename(package)
    for source in package.glob("*.py"):  # its own modules, not ours (crm.labels and the rest are shared)
        source.write_text(source.read_text(encoding="utf-8").replace("crm.understanding", "baseline_understanding"),
                          encoding="utf-8")
    sys.path.insert(0, str(folder))
    return importlib.import_module("baseline_understanding.intent")


def reading_side_by_side(ref: str, corpus: list[str], rounds: int = 5) -> None:
    """CPU per message, this reader against ``ref``'s, alternating round by round (the machine is shared)."""
    from crm.understanding.intent import read_messages
    from integrations.telegram.inbound import READ_EVERY

    try:
        old = baseline_intent(ref)
    except (subprocess.CalledProcessError, OSError) as e:  # a shallow clone, no git: say so, the rest goes on
        print(f"reading side by side: the reader of {ref} is not available here ({e})")
        return
    old.model()
    model()
    bench = [BENCH_TEXT.format(i=i) for i in range(len(corpus))]

    def run_old(texts):  # its processor too read one message at a time (read_all called read_message)
        for text in texts:
            old.read_message(text)

    def processor_new(texts):
        for start in range(0, len(texts), READ_EVERY):
            read_messages(texts[start:start + READ_EVERY])

    def single_new(texts):
        for text in texts:
            read_message(text)

    for name, texts in (("bench text", bench), ("corpus", corpus)):
        for way, run_new in ((f"batches of {READ_EVERY}", processor_new), ("one at a time", single_new)):
            spent_old = spent_new = 0.0
            for _ in range(rounds):
                start = time.thread_time()
                run_old(texts)
                spent_old += time.thread_time() - start
                start = time.thread_time()
                run_new(texts)
                spent_new += time.thread_time() - start
            n = rounds * len(texts)
            print(f"reading, {name}, {way}: {spent_new / n * 1e6:.1f} µs CPU per message against {ref}'s "
                  f"{spent_old / n * 1e6:.1f} µs (x{spent_old / spent_new:.2f} faster, same run)")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--customers", type=int, default=0, help="extra seeded customers in the notes store")
    p.add_argument("--baseline", default=BASELINE, help="git ref whose message reader is the reference")
    p.add_argument("--reading-only", action="store_true", help="only the reader against --baseline")
    args = p.parse_args()
    if args.reading_only:
        rows = load("customer_messages_en.jsonl") + load("customer_messages_zh.jsonl")
        reading_side_by_side(args.baseline, [r["text"] for r in rows])
        return 0

    rows = load("customer_messages_en.jsonl") + load("customer_messages_zh.jsonl")
    print(f"customer messages: {len(rows)} labelled ({sum(r['lang'] == 'en' for r in rows)} en, "
          f"{sum(r['lang'] == 'zh' for r in rows)} zh), intents {', '.join(INTENTS)}")
    started = time.perf_counter()
    cv = intent_cross_validation(rows, folds=args.folds, seed=0)
    print(f"intent macro-F1, {args.folds}-fold grouped CV: {cv['macro_f1']:.3f}  "
          + "  ".join(f"{lang} {f1:.3f}" for lang, f1 in cv["by_language"].items())
          + f"  ({time.perf_counter() - started:.1f} s)")
    print(format_confusion(cv))
    for lang in ("en", "zh"):
        mine = [r for r in rows if r["lang"] == lang]
        sub = intent_cross_validation(mine, folds=args.folds, seed=0)
        print(f"\n{lang} only (trained and tested on {lang}): macro-F1 {sub['macro_f1']:.3f}")
        print(format_confusion(sub))

    check = load("customer_messages_check.jsonl")
    shipped = model()
    predicted = shipped.predict([r["text"] for r in check])
    result = report([r["intent"] for r in check], predicted, [r["lang"] for r in check])
    print(f"\nhand-written check set ({len(check)}), shipped model: macro-F1 {result['macro_f1']:.3f}  "
          + "  ".join(f"{lang} {f1:.3f}" for lang, f1 in result["by_language"].items()))
    print(format_confusion(result))

    texts = [r["text"] for r in rows]
    for text in texts[:50]:
        read_message(text)  # warm caches
    reading = timed(read_message, texts)
    cpu = timed(read_message, texts, clock=time.thread_time)  # what one message costs, whatever the load
    scanner = _word_lists()  # the reader's one scan of every word list it uses
    keywords = timed(lambda t: scanner.starts(normalize(t)), texts)
    p50, p99 = statistics.median(reading) * 1000, percentile(reading, 99) * 1000
    k50 = statistics.median(keywords) * 1000
    print(f"\nread_message per message: p50 {p50:.2f} ms, p99 {p99:.2f} ms (target < 5 ms: "
          f"{'met' if p99 < 5 else 'MISSED'}); word lists' scan alone p50 {k50:.3f} ms (x{p50 / k50:.1f})")
    c50, c99 = statistics.median(cpu) * 1000, percentile(cpu, 99) * 1000
    print(f"read_message CPU time per message: p50 {c50:.2f} ms, p99 {c99:.2f} ms "
          f"(wall-clock p99 includes waiting for a core on a shared machine)")
    reading_side_by_side(args.baseline, texts)

    notes = load("staff_notes_en.jsonl") + load("staff_notes_zh.jsonl") + load("staff_notes_check.jsonl")
    from bot.dates import extract_when
    from crm.db import Database
    from crm.understanding.notes import parse_note
    from handlers.note import customer_lookup

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/notes.db")
        db.upgrade()
        if args.customers:
            from crm.seed import seed as seed_store
            seed_store(db, args.customers, seed=42)
        seed_directory(db)
        now = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)
        right = {f: 0 for f in NOTE_FIELDS}
        samples = []
        with db.session() as s:
            lookup = customer_lookup(s)
            for row in notes:
                start = time.perf_counter()
                draft = parse_note(row["text"], when=lambda t, pr: extract_when(t, now=now, prefer=pr), now=now,
                                   lookup=lookup)
                samples.append(time.perf_counter() - start)
                for f, ok in note_field_right(row, draft).items():
                    right[f] += ok
        db.dispose()
    print(f"\nstaff notes ({len(notes)}, store of {args.customers + 90:,} customers): "
          + "  ".join(f"{f} {right[f] / len(notes):.3f}" for f in NOTE_FIELDS))
    print(f"parse_note per note: p50 {statistics.median(samples) * 1000:.2f} ms, "
          f"p99 {percentile(samples, 99) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
