"""What the insight job does differently to fit a million customers in its nightly budget, and that the
answers do not change for it: the TF-IDF tokens, the stored reason phrases, the churn model's sample."""
from __future__ import annotations

import json
import re

import pytest

from crm.insights import features, risk
from crm.insights.job import _ReasonsJSON, refresh_insights
from crm.insights.reasons import describe
from crm.seed_bulk import seed_bulk

DOCS = ["API接口限流 the sso-integration: 讨论续约, 王 a b", "华为科技 it's ok — re-sent the PROPOSAL",
        "", "只有中文没有空格的一句话", "mixed中文and English 中 文", "O'Brien's follow-up: 续约 续约 续约"]


@pytest.mark.parametrize("doc", DOCS)
def test_tokens_are_the_ones_of_the_rewrite_and_pattern_they_replace(doc):
    old = re.findall(features.TOKEN, features.split_chinese(doc))
    assert sorted(features.words(doc)) == sorted(old)
    assert sorted(features.words_without_stop_words(doc)) == sorted(w for w in old if w not in features.STOP_WORDS)


def test_reason_phrases_described_once_are_the_same_json():
    reasons = [[{"kind": "silent", "days": 63, "weight": 1.2}, {"kind": "ticket", "count": 2, "days": 9, "weight": 0.4}],
               [{"kind": "deal", "stage": "proposal", "days": 40, "amounts": {"USD": 12000.0, "EUR": 5000.0},
                 "weight": 0.3}],
               [{"kind": "silent", "days": 63, "weight": 0.7}], []]
    as_stored = _ReasonsJSON()
    for r in reasons * 2:
        assert as_stored(r) == json.dumps([x | {"text": describe(x)} for x in r], ensure_ascii=False)
    assert len(as_stored.phrases) == 4  # the repeated "no contact in 63 days" (other weight) described once


@pytest.mark.slow
def test_a_large_store_fits_the_churn_model_on_a_stratified_sample_and_scores_everyone(db, clock, monkeypatch):
    result = seed_bulk(db, 2_000, seed=5, now=clock.now, interactions_per_customer=5)
    monkeypatch.setattr(risk, "TRAIN_AT_MOST", 600)
    summary = refresh_insights(db, clock.now)
    assert "fitted on a stratified sample of 600" in summary
    churned = result.churned
    assert f"trained on {churned:,} churned and {2_000 - churned:,} stayed" in summary
    auc = float(re.search(r"ROC AUC (\d\.\d+)", summary).group(1))
    assert auc > 0.75
    with db.engine.connect() as conn:
        scored = conn.exec_driver_sql("SELECT count(*) FROM customer_insight WHERE risk IS NOT NULL").scalar_one()
    assert scored == 2_000
