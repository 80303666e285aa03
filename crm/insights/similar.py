"""Similar customers: scaled behaviour and TF-IDF of what was said, side by side (`/crm similar`)."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from crm.insights.features import SIMILAR_COLUMNS, Features


def similarity_index(feat: Features, texts: sparse.csr_matrix, risk: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Row-normalised scaled behaviour (dense float32) and row-normalised TF-IDF (sparse)."""
    numeric = np.column_stack([feat.model[:, SIMILAR_COLUMNS], risk * 3.0])
    mean, std = numeric.mean(axis=0), numeric.std(axis=0)
    z = (numeric - mean) / np.where(std > 0, std, 1.0)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    behaviour = (z / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return behaviour, texts.astype(np.float32)


def nearest(behaviour: np.ndarray, texts: sparse.csr_matrix, position: int, *, k: int = 5,
            text_weight: float = 0.5, exclude: np.ndarray | None = None) -> list[tuple[int, float, float, float]]:
    """(position, score, behaviour similarity, text similarity) of the k most similar customers."""
    b = behaviour @ behaviour[position]
    if texts.shape[1]:
        t = np.asarray((texts @ texts.getrow(position).T).todense()).ravel()
    else:
        t = np.zeros(len(b), dtype=np.float32)
    score = (1 - text_weight) * b + text_weight * t
    score[position] = -np.inf
    if exclude is not None:
        score[exclude] = -np.inf
    k = min(k, len(score) - 1)
    if k <= 0:
        return []
    top = np.argpartition(-score, k - 1)[:k]
    top = top[np.argsort(-score[top])]
    return [(int(j), float(score[j]), float(b[j]), float(t[j])) for j in top if np.isfinite(score[j])]
