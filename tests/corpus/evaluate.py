"""Measuring the understanding layer on the labelled corpus (used by tests and bench/nlu.py)."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import StratifiedGroupKFold

from crm.understanding.intent import INTENTS, IntentModel

HERE = Path(__file__).parent
NOTE_FIELDS = ("customer", "kind", "occurred", "follow_up", "amount")


def load(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def intent_cross_validation(rows: list[dict], *, folds: int = 5, seed: int = 0) -> dict:
    """Out-of-fold predictions; folds keep every variant of one hand-written core together."""
    texts = [r["text"] for r in rows]
    labels = np.array([r["intent"] for r in rows])
    groups = [r.get("group", f"row{i}") for i, r in enumerate(rows)]
    predicted = np.empty(len(rows), dtype=object)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, labels, groups):
        model = IntentModel.train([texts[i] for i in train], list(labels[train]), seed=seed)
        predicted[test] = model.predict([texts[i] for i in test])
    return report(labels, predicted, [r.get("lang", "") for r in rows])


def report(labels, predicted, langs) -> dict:
    labels, predicted, langs = np.asarray(labels), np.asarray(predicted, dtype=object), np.asarray(langs)
    out = {"macro_f1": float(f1_score(labels, predicted, average="macro", labels=list(INTENTS))),
           "confusion": confusion_matrix(labels, predicted.astype(str), labels=list(INTENTS)).tolist(),
           "by_language": {}}
    for lang in sorted(set(langs)):
        mask = langs == lang
        out["by_language"][lang] = float(f1_score(labels[mask], predicted[mask], average="macro",
                                                  labels=list(INTENTS)))
    return out


def note_field_right(row: dict, draft) -> dict[str, bool]:
    def same_time(expected, got):
        if expected is None:
            return got is None
        return got is not None and abs((got - datetime.fromisoformat(expected)).total_seconds()) < 60

    amount = draft.amount.value if draft.amount else None
    return {
        "customer": bool(draft.customer and draft.customer.name == row["customer"]),
        "kind": draft.kind == row["kind"],
        "occurred": same_time(row["occurred"], draft.occurred_at),
        "follow_up": same_time(row["follow_up"], draft.follow_up_at),
        "amount": (row["amount"] is None and amount is None)
        or (row["amount"] is not None and amount is not None and abs(amount - row["amount"]) < 0.01),
    }


def format_confusion(result: dict) -> str:
    width = max(len(i) for i in INTENTS) + 2
    lines = [" " * width + "".join(f"{i[:6]:>8}" for i in INTENTS) + "   (rows: labelled, columns: predicted)"]
    for name, row in zip(INTENTS, result["confusion"]):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>8}" for v in row))
    return "\n".join(lines)


def seed_directory(db) -> None:
    """The corpus's customers in a real store, so notes are matched by the store's own search."""
    from crm.customers import create_customer

    with db.session() as s:
        for row in load("customers.jsonl"):
            create_customer(s, row["name"], company=row["company"])


def note_accuracy(db, rows: list[dict]) -> tuple[dict[str, float], list[tuple[dict, dict]]]:
    """Share of notes with each field right, and the misses (row, which fields were wrong)."""
    from datetime import timezone

    from bot.dates import extract_when
    from crm.understanding.notes import parse_note
    from handlers.note import customer_lookup

    now = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)  # generate.NOW
    right = {f: 0 for f in NOTE_FIELDS}
    misses = []
    with db.session() as s:
        lookup = customer_lookup(s)
        for row in rows:
            draft = parse_note(row["text"], when=lambda t, p: extract_when(t, now=now, prefer=p), now=now,
                               lookup=lookup)
            ok = note_field_right(row, draft)
            for f in NOTE_FIELDS:
                right[f] += ok[f]
            if not all(ok.values()):
                misses.append((row, {f: v for f, v in ok.items() if not v}, draft))
    return {f: right[f] / max(len(rows), 1) for f in NOTE_FIELDS}, misses
