"""Clustering of calibration embeddings (scikit-learn), returning labels and one centroid per cluster.

New queries are assigned to the nearest centroid. KMeans and the GMM provide their own centres
(the GMM's component means); Agglomerative, Spectral and BIRCH have no ``predict`` for unseen
points here, so their centroid is the mean of the cluster's calibration members.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import numpy as np

ClustererName = Literal["kmeans", "agglomerative", "gmm", "spectral", "birch"]
CLUSTERERS: tuple[str, ...] = ("kmeans", "agglomerative", "gmm", "spectral", "birch")
GMM_N_INIT = 10  # the paper's appendix: GMM with 10 initialisations


class ClusteringError(ValueError):
    pass


def _member_centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    centroids = np.zeros((k, x.shape[1]), dtype=np.float64)
    counts = np.bincount(labels, minlength=k)
    np.add.at(centroids, labels, x)
    nonempty = counts > 0
    centroids[nonempty] /= counts[nonempty, None]
    if not nonempty.all():
        # An empty cluster keeps no members; park its centre far away so it is never nearest.
        centroids[~nonempty] = np.inf
    return centroids


_FIT_MEMO: dict[tuple[str, int, str, int], tuple[np.ndarray, np.ndarray]] | None = None


@contextmanager
def memoised_fits() -> Iterator[None]:
    """Inside the block, fitting the same points with the same (k, method, seed) again reuses the first
    result: variant sweeps change profiles, not clusterings."""
    global _FIT_MEMO
    previous, _FIT_MEMO = _FIT_MEMO, {} if _FIT_MEMO is None else _FIT_MEMO
    try:
        yield
    finally:
        _FIT_MEMO = previous


def fit_clusters(
    x: np.ndarray, k: int, *, method: str = "kmeans", seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """(labels [n], centroids [k', d]) with k' = min(k, n)."""
    if _FIT_MEMO is None:
        return _fit_clusters(x, k, method=method, seed=seed)
    x = np.ascontiguousarray(x, dtype=np.float64)
    key = (hashlib.sha1(x.tobytes()).hexdigest() + str(x.shape), int(k), method, int(seed))
    if key not in _FIT_MEMO:
        _FIT_MEMO[key] = _fit_clusters(x, k, method=method, seed=seed)
    labels, centroids = _FIT_MEMO[key]
    return labels.copy(), centroids.copy()


def _fit_clusters(
    x: np.ndarray, k: int, *, method: str = "kmeans", seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import AgglomerativeClustering, Birch, KMeans, SpectralClustering
    from sklearn.mixture import GaussianMixture

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ClusteringError(f"need a non-empty 2-D embedding matrix, got shape {x.shape}")
    k = min(int(k), x.shape[0])
    if k < 1:
        raise ClusteringError(f"number of clusters must be >= 1 (got {k})")
    with warnings.catch_warnings():
        # Duplicate queries make "fewer distinct points than clusters" warnings; the labels are still valid.
        warnings.simplefilter("ignore", category=UserWarning)
        if method == "kmeans":
            model = KMeans(
                n_clusters=k,
                init="k-means++",
                n_init="auto",
                max_iter=1000,
                algorithm="elkan" if k > 1 else "lloyd",  # elkan needs >= 2 clusters
                random_state=seed,
            ).fit(x)
            return model.labels_.astype(np.int64), model.cluster_centers_
        if method == "gmm":
            model = GaussianMixture(
                n_components=k, covariance_type="full", random_state=seed, reg_covar=1e-4, n_init=GMM_N_INIT
            ).fit(x)
            labels = model.predict(x).astype(np.int64)
            return labels, model.means_
        if method == "agglomerative":
            labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x)
        elif method == "spectral":
            labels = SpectralClustering(
                n_clusters=k, affinity="rbf", gamma=0.1, random_state=seed, assign_labels="kmeans"
            ).fit_predict(x)
        elif method == "birch":
            labels = Birch(threshold=0.5, branching_factor=50, n_clusters=k).fit_predict(x)
        else:
            raise ClusteringError(f"unknown clusterer {method!r}; choose one of {', '.join(CLUSTERERS)}")
    labels = np.asarray(labels, dtype=np.int64)
    return labels, _member_centroids(x, labels, k)


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (Euclidean) for each row of ``x``."""
    return np.argmin(squared_distances(x, centroids), axis=1)


def squared_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(centroids, dtype=np.float64)
    finite = np.isfinite(c).all(axis=1)
    c_safe = np.where(finite[:, None], c, 0.0)
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c_safe.T + (c_safe * c_safe).sum(1)[None, :]
    d[:, ~finite] = np.inf
    return d


def split_k(sizes: list[int], k: int) -> list[int]:
    """``k`` clusters shared among groups of ``sizes`` in proportion (largest remainders), at least
    one per non-empty group and never more than a group's size."""
    total = sum(sizes)
    if total == 0:
        return [0] * len(sizes)
    quotas = [k * n / total for n in sizes]
    out = [min(n, max(1 if n else 0, int(q))) for n, q in zip(sizes, quotas, strict=True)]
    by_remainder = sorted(range(len(sizes)), key=lambda g: -(quotas[g] - int(quotas[g])))
    for g in by_remainder:
        if sum(out) >= k:
            break
        if out[g] < sizes[g]:
            out[g] += 1
    return out


def fit_within_groups(
    x: np.ndarray, k: int, groups: np.ndarray, *, method: str = "kmeans", seed: int = 42
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster each group (e.g. each dataset) on its own with its share of ``k`` (:func:`split_k`):
    (labels [n], centroids [k', d], group of each cluster [k']). Every cluster is pure."""
    x = np.asarray(x, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    present = sorted(set(groups.tolist()))
    members = [np.flatnonzero(groups == g) for g in present]
    ks = split_k([len(m) for m in members], k)
    labels = np.empty(len(x), dtype=np.int64)
    centroids, owner, offset = [], [], 0
    for g, rows, kg in zip(present, members, ks, strict=True):
        sub_labels, sub_centroids = fit_clusters(x[rows], kg, method=method, seed=seed)
        labels[rows] = sub_labels + offset
        centroids.append(sub_centroids)
        owner += [g] * sub_centroids.shape[0]
        offset += sub_centroids.shape[0]
    return labels, np.vstack(centroids), np.array(owner, dtype=np.int64)
