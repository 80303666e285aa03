"""What a customer's message is about: intent, sentiment, urgency, products and amounts named.

Intent is learned (scikit-learn): TF-IDF of character 1–4-grams (they work the same for English,
Chinese without word breaks, typos and mixed text) and of words, plus counts of each intent's
keywords in both languages, into a logistic regression. The training set is the labelled corpus
shipped in ``data/customer_messages.jsonl`` (written by ``tests/corpus/generate.py`` from the same
sources as the test corpus). Sentiment and urgency are rules over word lists, emoji and
punctuation: they need to be explainable more than clever.

The model is trained once per process on first use (about a second) — ``warm_up()`` does it ahead.
With ``CRM_INTENT_MODEL_CACHE`` set to a folder, the trained model is kept there and later processes
load it instead (the test suite sets it: a dozen `crm-bot run` processes and two workers need not
train the same model each); the file's name is a hash of the training data, this module, the
lexicon and the library versions, so a change to any of them trains anew.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import sys
import tempfile
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from crm.understanding import lexicon
from crm.labels import intent_label, sentiment_label, urgent_label
from crm.understanding.amounts import find_amounts

INTENTS = ("question", "complaint", "purchase", "cancellation", "thanks", "other")
TRAINING_FILE = Path(__file__).with_name("data") / "customer_messages.jsonl"
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"\s+", " ", text).strip()


class KeywordCounts(BaseEstimator, TransformerMixin):
    """Per intent: log(1 + keyword hits), plus question marks, exclamations, emoji, CJK share."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return sparse.csr_matrix(np.asarray([self.row(text) for text in X], dtype=float))

    @staticmethod
    def row(text: str) -> list[float]:
        """One text's features (texts are normalized: casefolded)."""
        counts = [lexicon.count(text, words, folded=True) for words in lexicon.INTENT_WORDS.values()]
        counts += [lexicon.count(text, lexicon.NEGATIVE_WORDS, folded=True),
                   lexicon.count(text, lexicon.POSITIVE_WORDS, folded=True),
                   lexicon.count(text, lexicon.URGENT_WORDS, folded=True),
                   text.count("?") + text.count("？"), text.count("!") + text.count("！"), len(_EMOJI.findall(text))]
        return [math.log1p(n) for n in counts] + [min(len(text) / 200, 1.0)]


def build_pipeline(C: float = 4.0, seed: int = 0) -> Pipeline:
    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True,
                                  max_features=60000)),
        ("words", TfidfVectorizer(analyzer="word", token_pattern=r"(?u)\b\w[\w']+\b", ngram_range=(1, 2),
                                  min_df=2, sublinear_tf=True)),
        ("keywords", KeywordCounts()),
    ], transformer_weights={"chars": 1.0, "words": 0.6, "keywords": 0.8})
    return Pipeline([("features", features),
                     # liblinear (one-vs-rest) is single-threaded and fast on sparse text features
                     ("model", OneVsRestClassifier(LogisticRegression(C=C, solver="liblinear",
                                                                      class_weight="balanced", random_state=seed)))])


@dataclass
class MessageReading:
    intent: str
    confidence: float
    sentiment: str  # "negative" | "neutral" | "positive"
    urgency: str  # "high" | "normal"
    products: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)  # as written: "$12k", "20个席位"
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        tags = [f"intent:{self.intent}"]
        if self.sentiment == "negative":
            tags.append("negative")
        if self.urgency == "high":
            tags.append("urgent")
        return tags + [f"product:{p}" for p in self.products]

    def label(self, lang: str = "en") -> str:
        """One line for the ticket card: "purchase intent · positive · urgent · seats, $12k"."""
        parts = [intent_label(self.intent, lang), sentiment_label(self.sentiment, lang)]
        if self.urgency == "high":
            parts.append(urgent_label(lang))
        named = self.products + self.amounts
        if named:
            parts.append(", ".join(named))
        return " · ".join(parts)


class _FastScorer:
    """The fitted pipeline's arithmetic for one message, without scikit-learn's per-call checks.

    A single ``predict_proba`` costs ~3 ms in validation and sparse bookkeeping; the same sums over
    the few hundred n-grams of one message take a fraction of that. ``IntentModel.probabilities``
    uses this; tests compare it with the pipeline's own answer.
    """

    def __init__(self, pipeline: Pipeline):
        union = pipeline.named_steps["features"]
        weights = union.transformer_weights or {}
        ovr = pipeline.named_steps["model"]
        coef = np.vstack([est.coef_.ravel() for est in ovr.estimators_])  # classes × features
        self.intercepts = np.array([float(est.intercept_[0]) for est in ovr.estimators_])
        self.blocks = []
        offset = 0
        for name, transformer in union.transformer_list:
            weight = weights.get(name, 1.0)
            if isinstance(transformer, TfidfVectorizer):
                size = len(transformer.vocabulary_)
                self.blocks.append(("tfidf", transformer.build_analyzer(), transformer.vocabulary_,
                                    transformer.idf_, np.ascontiguousarray((coef[:, offset:offset + size] * weight).T)))
            else:
                size = transformer.transform(["x"]).shape[1]
                self.blocks.append(("dense", transformer, None, None,
                                    np.ascontiguousarray((coef[:, offset:offset + size] * weight).T)))
            offset += size

    def decision(self, text: str) -> np.ndarray:
        # weights are kept features × classes (C order): a message's few hundred features are whole rows to
        # gather, not a strided column of each class; grams counted by Counter (C), looked up once each
        total = self.intercepts.copy()
        for kind, analyzer, vocabulary, idf, weights in self.blocks:
            if kind == "dense":  # KeywordCounts: its row directly, not through a sparse matrix
                total += np.asarray(analyzer.row(text), dtype=float) @ weights
                continue
            counts = Counter(map(vocabulary.get, analyzer(text)))  # feature index → count (None: not a feature)
            counts.pop(None, None)
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * idf[idx]
            values /= np.sqrt((values ** 2).sum())
            total += values @ weights[idx]
        return total

    def probabilities(self, text: str) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision(text)))
        return p / p.sum()


class IntentModel:
    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.classes = list(pipeline.classes_)
        self.fast = _FastScorer(pipeline)

    def __getstate__(self) -> dict:
        return {"pipeline": self.pipeline}  # the fast scorer is derived: a cached model never carries a stale one

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["pipeline"])

    @classmethod
    def train(cls, texts: list[str], labels: list[str], seed: int = 0) -> "IntentModel":
        pipeline = build_pipeline(seed=seed)
        pipeline.fit([normalize(t) for t in texts], labels)
        return cls(pipeline)

    def predict(self, texts: list[str]) -> list[str]:
        return list(self.pipeline.predict([normalize(t) for t in texts]))

    def probabilities(self, text: str) -> dict[str, float]:
        return self.normalized_probabilities(normalize(text))

    def normalized_probabilities(self, normalized: str) -> dict[str, float]:
        """``probabilities`` of a text already ``normalize``d."""
        probs = self.fast.probabilities(normalized)
        return dict(zip((str(c) for c in self.classes), (float(p) for p in probs)))


def load_training(path: Path = TRAINING_FILE) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                texts.append(row["text"])
                labels.append(row["intent"])
    return texts, labels


_model: IntentModel | None = None
_lock = threading.Lock()


def _cache_file(folder: Path) -> Path:
    import scipy
    import sklearn

    digest = hashlib.sha256()
    for path in (TRAINING_FILE, Path(__file__), Path(lexicon.__file__)):
        digest.update(path.read_bytes())
    digest.update(f"{sys.version} {np.__version__} {scipy.__version__} {sklearn.__version__}".encode())
    return folder / f"intent-{digest.hexdigest()[:20]}.pickle"


def _trained() -> IntentModel:
    folder = os.environ.get("CRM_INTENT_MODEL_CACHE")
    if not folder:
        return IntentModel.train(*load_training())
    path = _cache_file(Path(folder))
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    trained = IntentModel.train(*load_training())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as fh:
            pickle.dump(trained, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, path)  # whole or not at all: another process may be reading it
    except OSError:
        pass
    return trained


def model() -> IntentModel:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _trained()
    return _model


def warm_up() -> None:
    """Train the shared model now (e.g. in a background thread at start), not on the first message."""
    model()


def sentiment_of(text: str, intent: str | None = None) -> str:
    return _sentiment(normalize(text), intent)


def _sentiment(t: str, intent: str | None) -> str:
    """``sentiment_of`` a normalized text."""
    neg = 0.0
    for start, _end, _w in lexicon.find_all(t, lexicon.NEGATIVE_WORDS, folded=True):
        neg += 1
    pos = 0.0
    for start, _end, w in lexicon.find_all(t, lexicon.POSITIVE_WORDS, folded=True):
        before = t[max(0, start - 12):start]
        if re.search(r"(?<![a-z])(not|no|never|don't|isn't|wasn't)\s+(\w+\s+)?$|[不没]$", before):
            neg += 1  # "not good", "不满意"
        else:
            pos += 1
    exclaim = t.count("!") + t.count("！")
    if neg and exclaim >= 2:
        neg += 0.5
    # the intent is evidence too: a complaint with no feeling words is still not neutral
    if intent in ("complaint", "cancellation"):
        neg += 0.75
    elif intent == "thanks":
        pos += 0.75
    if neg > pos:
        return "negative"
    if pos > neg:
        return "positive"
    return "neutral"


def urgency_of(text: str, intent: str) -> str:
    return _urgency(text, normalize(text), intent)


def _urgency(text: str, t: str, intent: str) -> str:
    """``urgency_of`` ``text``, ``t`` being it normalized."""
    hits = lexicon.count(t, lexicon.URGENT_WORDS, folded=True)
    shouting = sum(1 for w in re.findall(r"\b[A-Z]{3,}\b", text or "") if w not in ("API", "SLA", "USD", "CNY", "VIP"))
    exclaim = t.count("!") + t.count("！")
    if hits >= 1 and (intent in ("complaint", "cancellation", "question", "purchase") or exclaim):
        return "high"
    if intent == "complaint" and (exclaim >= 3 or shouting >= 2):
        return "high"
    return "normal"


def products_of(text: str) -> list[str]:
    return _products(normalize(text))


def _products(t: str) -> list[str]:
    """``products_of`` a normalized text."""
    named = []
    if not lexicon.may_name_any(t, lexicon.PRODUCT_WORDS.values()):
        return named  # most messages name no product: one search instead of one per product
    for product, words in lexicon.PRODUCT_WORDS.items():
        if lexicon.count(t, words, folded=True):
            named.append(product)
    # "seats" and "license" say the same thing as the plan words around them: keep the most specific few
    return named[:4]


def read_message(text: str, *, classifier: IntentModel | None = None) -> MessageReading:
    clf = classifier or model()
    folded = normalize(text)  # once, not once per reader (issue 17)
    probs = clf.normalized_probabilities(folded)
    intent = str(max(probs, key=probs.get))
    amounts = [a.text for a in find_amounts(text)][:3]
    return MessageReading(intent=intent, confidence=probs[intent], sentiment=_sentiment(folded, intent),
                          urgency=_urgency(text, folded, intent), products=_products(folded), amounts=amounts,
                          scores=probs)
