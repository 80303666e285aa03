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

Reading is hand-written around the libraries where a side-by-side run showed it pays (issue 17;
``bench/bench_nlu.py`` prints this reader against the one before, ~3x less CPU per message in the
processor's batches): the fitted pipeline's own ``predict_proba`` stays the definition of the
probabilities, but costs ~3 ms a call in validation, so ``_FastScorer`` does its arithmetic for a whole
batch at once (tests compare the two to 1e-9); its character n-grams and the word lists' places are
found by pyahocorasick (C) instead of cutting out and looking up every n-gram and searching every list.
``read_messages`` reads a batch; each message reads the same, to the last bit, in any batch.
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
from functools import partial
from itertools import chain, repeat
from operator import itemgetter
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick
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
    # split() and re's \s are the same whitespace (str.isspace): one space for each run, none at the ends
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


_scanner: lexicon.Scanner | None = None
# the word lists read in a message, in this order: the intents' (KeywordCounts), feelings, urgency, products
_NEGATIVE, _POSITIVE, _URGENT = len(INTENTS), len(INTENTS) + 1, len(INTENTS) + 2
_PRODUCTS = len(INTENTS) + 3


def _word_lists() -> lexicon.Scanner:
    """One scanner for every word list a message is read for (built on first use: the lists are complete)."""
    global _scanner
    if _scanner is None:
        assert tuple(lexicon.INTENT_WORDS) == INTENTS
        _scanner = lexicon.Scanner([*lexicon.INTENT_WORDS.values(), lexicon.NEGATIVE_WORDS, lexicon.POSITIVE_WORDS,
                                    lexicon.URGENT_WORDS, *lexicon.PRODUCT_WORDS.values()])
    return _scanner


class KeywordCounts(BaseEstimator, TransformerMixin):
    """Per intent: log(1 + keyword hits), plus question marks, exclamations, emoji, CJK share."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return sparse.csr_matrix(np.asarray([self.row(text) for text in X], dtype=float))

    @staticmethod
    def row(text: str) -> list[float]:
        """One text's features (texts are normalized: casefolded)."""
        return KeywordCounts.row_of(text, _word_lists().starts(text))

    @staticmethod
    def row_of(text: str, found: list) -> list[float]:
        """``row`` from the text's word-list matches (``_word_lists().starts``), found once for every reader."""
        counts = list(map(len, found[:_URGENT + 1]))
        counts += (text.count("?") + text.count("？"), text.count("!") + text.count("！"), len(_EMOJI.findall(text)))
        row = list(map(math.log1p, counts))
        row.append(min(len(text) / 200, 1.0))
        return row


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
    """The fitted pipeline's arithmetic for a batch of messages, without scikit-learn's per-call checks.

    Hand-written over the pipeline's own ``predict_proba`` (which stays the definition: tests compare the
    two to 1e-9 on the corpus and awkward texts): one ``predict_proba`` costs ~3 ms in validation and
    sparse bookkeeping, against tens of microseconds of arithmetic for a message. Per message, Python
    only lists the indices of the features it holds, at C speed; the numbers (counts, sublinear tf × idf,
    l2 per block, the weights) are one set of numpy calls for the whole batch (issue 17: five small
    numpy calls per message cost more than the sums themselves).

    The character n-grams (``char_wb``: n-grams of each word padded with a space) are found by one
    Aho-Corasick pass (pyahocorasick, C) of the vocabulary over the text with every word so padded: the
    vocabulary's n-grams occurring there are exactly the word's n-grams in the vocabulary: the padded words
    are joined by two adjacent spaces, so an n-gram spanning two of them holds two adjacent spaces, and no
    vocabulary entry does (each word is padded with one space a side: " a " is one). That is 3x faster
    than cutting every n-gram out and looking each up (issue 17). It holds for the configuration
    ``build_pipeline`` fits (checked here: any other takes scikit-learn's own analyzer).
    """

    def __init__(self, pipeline: Pipeline):
        union = pipeline.named_steps["features"]
        weights = union.transformer_weights or {}
        ovr = pipeline.named_steps["model"]
        coef = np.vstack([est.coef_.ravel() for est in ovr.estimators_])  # classes × features
        self.intercepts = np.array([float(est.intercept_[0]) for est in ovr.estimators_])
        self.classes = [str(c) for c in pipeline.classes_]
        offset, self.blocks, idf, rows, dense = 0, [], [], [], None
        for name, transformer in union.transformer_list:
            weight = weights.get(name, 1.0)
            if isinstance(transformer, TfidfVectorizer):
                size = len(transformer.vocabulary_)
                self.blocks.append((self._feature_finder(transformer), offset))
                idf.append(transformer.idf_)
            else:
                assert dense is None and isinstance(transformer, KeywordCounts)
                size = transformer.transform(["x"]).shape[1]
                dense = len(rows)
            rows.append((coef[:, offset:offset + size] * weight).T)
            offset += size
        assert dense == len(self.blocks) == 2, "the TF-IDF blocks (chars, words), then the keyword counts"
        # features × classes, C order: a message's few hundred features are whole rows to gather
        self.weights = np.ascontiguousarray(np.vstack(rows[:2]))
        self.idf = np.concatenate(idf)
        self.keyword_weights = np.ascontiguousarray(rows[2])

    @staticmethod
    def _feature_finder(vectorizer: TfidfVectorizer):
        """text → the indices of its features in the vectorizer's vocabulary, once per occurrence (-1: none)."""
        v = vectorizer
        plain = (v.preprocessor is None and v.tokenizer is None and v.strip_accents is None and v.lowercase
                 and v.input == "content" and v.stop_words is None)
        if plain and v.analyzer == "char_wb" and v.ngram_range[0] == 1:
            grams = ahocorasick.Automaton()
            for gram, index in v.vocabulary_.items():
                grams.add_word(gram, int(index))  # numpy's int64 (as fitted) takes numpy twice as long to convert
            grams.make_automaton()
            return partial(_FastScorer._char_wb_features, grams)
        lookup = v.vocabulary_.get
        if plain and v.analyzer == "word" and tuple(v.ngram_range) == (1, 2) and re.compile(v.token_pattern).groups == 0:
            return partial(_FastScorer._word_features, re.compile(v.token_pattern).findall, lookup)
        analyzer = v.build_analyzer()
        return lambda text: list(map(lookup, analyzer(text), repeat(-1)))

    @staticmethod
    def _char_wb_features(grams, text: str) -> list[int]:
        words = text.lower().split()  # scikit-learn's preprocessing, then its split into words
        if not words:
            return []
        return list(map(_SECOND, grams.iter(" " + "  ".join(words) + " ")))

    @staticmethod
    def _word_features(tokens_of, lookup, text: str) -> list[int]:
        """scikit-learn's word analyzer for ngram_range (1, 2): the tokens, then each pair of neighbours."""
        tokens = tokens_of(text.lower())
        return list(map(lookup, chain(tokens, map(" ".join, zip(tokens, tokens[1:]))), repeat(-1)))

    def probabilities_of(self, texts: list[str], keyword_rows: list[list[float]]) -> list[list[float]]:
        """Each normalized text's class probabilities (in ``classes`` order), given its ``KeywordCounts`` row."""
        if not texts:
            return []
        found, lengths, bases = [], [], []  # per message and block: its features' indices, how many, its key base
        width = len(self.idf)
        part = 0
        for text in texts:
            for finder, offset in self.blocks:
                features = finder(text)
                found += features
                lengths.append(len(features))
                bases.append(part * width + offset)
                part += 1
        # not matmul: BLAS rounds differently with the batch's size, and a message reads the same in any batch
        total = np.einsum("mf,fc->mc", np.asarray(keyword_rows, dtype=float), self.keyword_weights)
        total += self.intercepts
        if found:
            features = np.array(found, dtype=np.int64)
            keys = (features + np.repeat(bases, lengths))[features >= 0]  # (message, block, feature) as one number
            keys, counts = np.unique(keys, return_counts=True)  # sorted: by message, then block
            parts = keys // width
            features = keys - parts * width
            # a block's entries, divided per message and block (``parts``), are TfidfVectorizer's row
            values = (1.0 + np.log(counts)) * self.idf[features]  # sublinear tf × idf
            values /= np.sqrt(np.bincount(parts, weights=values * values))[parts]  # l2 of each message's block
            messages = parts // len(self.blocks)
            starts = np.flatnonzero(np.concatenate(([True], messages[1:] != messages[:-1])))  # each message's first
            contributions = np.take(self.weights, features, axis=0)  # take: ~3x faster than fancy indexing here
            contributions *= values[:, None]
            total[messages[starts]] += np.add.reduceat(contributions, starts, axis=0)
        p = 1.0 / (1.0 + np.exp(-total))
        p /= p.sum(axis=1, keepdims=True)
        return p.tolist()


_SECOND = itemgetter(1)


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
        probs = self.fast.probabilities_of([normalized], [KeywordCounts.row(normalized)])[0]
        return dict(zip(self.fast.classes, probs))


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
    t = normalize(text)
    return _sentiment(t, _word_lists().starts(t), intent)


_NEGATED = re.compile(r"(?<![a-z])(not|no|never|don't|isn't|wasn't)\s+(\w+\s+)?$|[不没]$")


def _sentiment(t: str, found: list, intent: str | None) -> str:
    """``sentiment_of`` a normalized text, from its word-list matches (``_word_lists().starts``)."""
    neg = float(len(found[_NEGATIVE]))
    pos = 0.0
    for start in found[_POSITIVE]:
        if _NEGATED.search(t[max(0, start - 12):start]):
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
    t = normalize(text)
    return _urgency(text, t, _word_lists().starts(t), intent)


_SHOUTED = re.compile(r"\b[A-Z]{3,}\b")
_NOT_SHOUTING = frozenset(("API", "SLA", "USD", "CNY", "VIP"))


def _urgency(text: str, t: str, found: list, intent: str) -> str:
    """``urgency_of`` ``text``, ``t`` being it normalized, from its word-list matches."""
    exclaim = t.count("!") + t.count("！")
    if found[_URGENT] and (intent in ("complaint", "cancellation", "question", "purchase") or exclaim):
        return "high"
    if intent == "complaint" and exclaim < 3:
        shouting = sum(1 for w in _SHOUTED.findall(text or "") if w not in _NOT_SHOUTING)
        if shouting >= 2:
            return "high"
    elif intent == "complaint":
        return "high"
    return "normal"


def products_of(text: str) -> list[str]:
    t = normalize(text)
    return _products(_word_lists().starts(t))


_PRODUCT_NAMES = tuple(lexicon.PRODUCT_WORDS)


def _products(found: list) -> list[str]:
    """``products_of`` a text, from its word-list matches."""
    named = [product for product, hits in zip(_PRODUCT_NAMES, found[_PRODUCTS:]) if hits]
    # "seats" and "license" say the same thing as the plan words around them: keep the most specific few
    return named[:4]


def read_message(text: str, *, classifier: IntentModel | None = None) -> MessageReading:
    return read_messages([text], classifier=classifier)[0]


def read_messages(texts: list[str], *, classifier: IntentModel | None = None) -> list[MessageReading]:
    """``read_message`` of each text, the batch's arithmetic done at once (the inbox reads a few at a time)."""
    clf = classifier or model()
    words = _word_lists()
    folded = [normalize(text) for text in texts]  # once, not once per reader (issue 17)
    found = [words.starts(t) for t in folded]  # every word list's matches, once for every reader
    rows = [KeywordCounts.row_of(t, hits) for t, hits in zip(folded, found)]
    readings = []
    for text, t, hits, probs in zip(texts, folded, found, clf.fast.probabilities_of(folded, rows)):
        scores = dict(zip(clf.fast.classes, probs))
        intent = max(scores, key=scores.get)
        readings.append(MessageReading(
            intent=intent, confidence=scores[intent], sentiment=_sentiment(t, hits, intent),
            urgency=_urgency(text, t, hits, intent), products=_products(hits),
            amounts=[a.text for a in find_amounts(text)][:3], scores=scores))
    return readings
