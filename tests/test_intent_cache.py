"""CRM_INTENT_MODEL_CACHE: a process loads the model an earlier one trained, and trains anew when the
training data (or the code, or the libraries) changed."""
from __future__ import annotations

import pickle

import pytest

from crm.understanding import intent

MESSAGES = ["The app has been down all morning, fix it ASAP!!", "我们想再买50个许可证", "thanks, works now"]


def test_the_second_process_loads_the_model_the_first_one_trained(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INTENT_MODEL_CACHE", str(tmp_path))
    trained = intent._trained()
    assert len(list(tmp_path.glob("intent-*.pickle"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although the cache holds the model")

    monkeypatch.setattr(intent.IntentModel, "train", no_training)
    loaded = intent._trained()
    assert loaded is not trained
    assert loaded.predict(MESSAGES) == trained.predict(MESSAGES)
    assert loaded.probabilities(MESSAGES[0]) == pytest.approx(trained.probabilities(MESSAGES[0]))


def test_a_damaged_file_is_trained_over_and_changed_training_data_gets_a_new_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INTENT_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(intent.IntentModel, "train", classmethod(lambda cls, texts, labels: "a fresh model"))
    data = tmp_path / "training.jsonl"
    data.write_bytes(intent.TRAINING_FILE.read_bytes())
    monkeypatch.setattr(intent, "TRAINING_FILE", data)
    path = intent._cache_file(tmp_path / "cache")
    path.parent.mkdir()
    path.write_bytes(b"not a pickle")
    assert intent._trained() == "a fresh model"
    assert pickle.loads(path.read_bytes()) == "a fresh model"
    with open(data, "a", encoding="utf-8") as fh:
        fh.write('{"text": "one more question?", "intent": "question"}\n')
    assert intent._cache_file(tmp_path / "cache") != path
