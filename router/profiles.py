"""Capability profiles: how well each model does on each cluster of calibration queries.

The paper's rule (the default) is the raw per-cluster mean: ``profile[c, m] = s[c, m] / n[c, m]``,
the mean of m's sample scores over the calibration items of cluster c; a cluster with no item of m
gets m's global calibration accuracy ``g[m]``.

Deviations from the paper, each off by default and chosen by validation (bench/router_fidelity.py):

- ``shrinkage`` λ > 0: empirical-Bayes pull toward a prior ``p[c, m]``,
  ``profile[c, m] = (s[c, m] + λ·p[c, m]) / (n[c, m] + λ)``. The prior is ``global`` (g[m]),
  ``task`` (m's calibration accuracy on the datasets the cluster's items come from, weighted by
  the cluster's dataset mix) or ``parent`` (m's accuracy on a coarser clustering's clusters,
  weighted the same way). Clusters mostly rediscover datasets, so the noise is within a dataset:
  the task or parent prior is the one that can correct it.
- ``shrinkage="auto"``: empirical Bayes with the strength estimated from the calibration data
  alone, one λ per model, applied to the model × cluster interaction only (a cluster that is
  harder for every model ranks them no differently): see :func:`interaction_shrunk`.
- ``tie_z`` z > 0: models whose cluster score is within z standard errors of the cluster's best
  are treated as tied, and a tie goes to the model with the better prior instead of the
  noisier point estimate.
- ``alpha`` < 1 (Avengers-Pro performance-efficiency routing): per cluster, a model's routing
  score is ``α·acc_norm + (1 − α)·cheap_norm`` with both min-max normalised over the models
  within the cluster and ``cheap_norm = (max cost − cost) / (max cost − min cost)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Profiles:
    scores: np.ndarray  # [clusters, models] the profile used for ranking (after any shrinkage)
    counts: np.ndarray  # [clusters, models] calibration items behind each score
    global_accuracy: np.ndarray  # [models]
    prior: np.ndarray | None = None  # [clusters, models] what shrinkage and ties fall back to
    raw: np.ndarray | None = None  # [clusters, models] the unshrunk per-cluster mean
    costs: np.ndarray | None = None  # [clusters, models] mean cost of a routed answer, if known


def global_accuracy(item_scores: np.ndarray) -> np.ndarray:
    """Mean over items of each column, ignoring missing (NaN) cells; 0 for a model with no data."""
    answered = ~np.isnan(item_scores)
    totals = np.where(answered, item_scores, 0.0).sum(axis=0)
    counts = answered.sum(axis=0)
    return np.divide(totals, counts, out=np.zeros(item_scores.shape[1]), where=counts > 0)


def _group_sums(labels: np.ndarray, n_groups: int, item_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    answered = ~np.isnan(item_scores)
    sums = np.zeros((n_groups, item_scores.shape[1]))
    counts = np.zeros((n_groups, item_scores.shape[1]))
    np.add.at(sums, labels, np.where(answered, item_scores, 0.0))
    np.add.at(counts, labels, answered.astype(np.float64))
    return sums, counts


def group_prior(
    labels: np.ndarray, n_clusters: int, groups: np.ndarray, item_scores: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """[clusters, models]: each model's accuracy per group (a dataset, or a parent cluster), mixed by
    the share of each group among the cluster's calibration items."""
    groups = np.asarray(groups, dtype=np.int64)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    sums, counts = _group_sums(groups, n_groups, item_scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        group_acc = np.where(counts > 0, sums / np.maximum(counts, 1e-12), fallback[None, :])
    mix = np.zeros((n_clusters, n_groups))
    np.add.at(mix, (labels, groups), 1.0)
    sizes = mix.sum(axis=1, keepdims=True)
    prior = np.divide(mix, sizes, out=np.zeros_like(mix), where=sizes > 0) @ group_acc
    return np.where(sizes > 0, prior, fallback[None, :])


def interaction_shrunk(
    labels: np.ndarray, item_scores: np.ndarray, sums: np.ndarray, counts: np.ndarray, prior: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(profile [clusters, models], λ [models]) of ``shrinkage="auto"`` (see the module docstring).

    Routing compares models within a cluster, so a cluster's common gap to the prior (it is harder or
    easier for every model) is kept and only each model's own part of the gap, the model × cluster
    interaction, is shrunk: profile = prior + common gap + n/(n + λ_m) · interaction. λ_m = σ²/τ² by
    the method of moments on item scores centred on the item's mean over models (the models answer
    the same items, so their noise is paired): σ² their pooled within-cluster variance, τ² the
    interactions' mean square less its sampling part σ²/n. ``AUTO_MAX_SHRINKAGE`` stands for "the
    prior itself" when no interaction exceeds its noise.
    """
    answered = ~np.isnan(item_scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(counts > 0, sums / np.maximum(counts, 1e-12), prior)
        item_mean = np.nanmean(np.where(answered, item_scores, np.nan), axis=1, keepdims=True)
    centred = np.where(answered, item_scores - np.nan_to_num(item_mean), np.nan)
    centred_sums, _ = _group_sums(labels, sums.shape[0], centred)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred_mean = np.where(counts > 0, centred_sums / np.maximum(counts, 1e-12), 0.0)
    residual = np.where(answered, centred - centred_mean[labels], 0.0)
    n, c = counts.sum(axis=0), (counts > 0).sum(axis=0)
    sigma2 = (residual**2).sum(axis=0) / np.maximum(n - c, 1.0)
    gap = np.where(counts > 0, raw - prior, 0.0)
    common = np.divide(
        (gap * (counts > 0)).sum(axis=1, keepdims=True),
        (counts > 0).sum(axis=1, keepdims=True),
        out=np.zeros((gap.shape[0], 1)),
        where=(counts > 0).sum(axis=1, keepdims=True) > 0,
    )
    interaction = np.where(counts > 0, gap - common, 0.0)
    excess = np.where(counts > 0, interaction**2 - sigma2[None, :] / np.maximum(counts, 1.0), 0.0)
    tau2 = np.maximum((counts * excess).sum(axis=0) / np.maximum(n, 1.0), 0.0)
    lam = np.minimum(
        np.divide(sigma2, tau2, out=np.full_like(sigma2, AUTO_MAX_SHRINKAGE), where=tau2 > 0),
        AUTO_MAX_SHRINKAGE,
    )
    weight = counts / (counts + lam[None, :])
    profile = np.where(counts > 0, prior + common + weight * interaction, prior)
    return profile, lam


AUTO_MAX_SHRINKAGE = 1e6


def cluster_profiles(
    labels: np.ndarray,
    n_clusters: int,
    item_scores: np.ndarray,
    *,
    shrinkage: float | str = 0.0,
    global_acc: np.ndarray | None = None,
    prior: np.ndarray | None = None,
    item_costs: np.ndarray | None = None,
) -> Profiles:
    """Profiles from calibration ``labels`` [n] and ``item_scores`` [n, models] (NaN = not answered).

    ``shrinkage``: a pseudo-count λ >= 0, or ``"auto"`` (:func:`moments_shrinkage`, one λ per model).
    ``prior`` [clusters, models] defaults to the global accuracy; ``item_costs`` [n, models] (NaN =
    unknown) gives each cluster's mean cost per routed answer.
    """
    if shrinkage != "auto" and (isinstance(shrinkage, str) or shrinkage < 0):
        raise ValueError(f"shrinkage must be >= 0 or 'auto' (got {shrinkage!r})")
    item_scores = np.asarray(item_scores, dtype=np.float64)
    g = global_accuracy(item_scores) if global_acc is None else np.asarray(global_acc, dtype=np.float64)
    sums, counts = _group_sums(labels, n_clusters, item_scores)
    p = np.broadcast_to(g[None, :], sums.shape) if prior is None else np.asarray(prior, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(counts > 0, sums / np.maximum(counts, 1e-12), p)
        if shrinkage == "auto":
            scores, _ = interaction_shrunk(labels, item_scores, sums, counts, p)
        else:
            lam = float(shrinkage)
            scores = np.where(counts + lam > 0, (sums + lam * p) / (counts + lam), p)
    scores = np.where(counts > 0, scores, p)
    costs = None
    if item_costs is not None:
        cost_sums, cost_counts = _group_sums(labels, n_clusters, np.asarray(item_costs, dtype=np.float64))
        overall = global_accuracy(np.asarray(item_costs, dtype=np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            costs = np.where(cost_counts > 0, cost_sums / np.maximum(cost_counts, 1e-12), overall[None, :])
    return Profiles(scores=scores, counts=counts, global_accuracy=g, prior=np.array(p), raw=raw, costs=costs)


def tie_adjusted(profiles: Profiles, z: float) -> np.ndarray:
    """Scores where models within ``z`` standard errors of the cluster's best are ordered by prior.

    A tied model gets the best score minus its prior gap to the tied model with the best prior, so
    that model leads the cluster; models outside the interval keep their own score.
    """
    scores = profiles.scores
    if z <= 0 or profiles.prior is None:
        return scores
    n = profiles.counts
    smoothed = (scores * n + 0.5) / (n + 1.0)
    variance = smoothed * (1.0 - smoothed) / (n + 1.0)
    best = np.argmax(scores, axis=1)
    rows = np.arange(scores.shape[0])
    gap = scores[rows, best][:, None] - scores
    tied = gap <= z * np.sqrt(variance + variance[rows, best][:, None])
    prior = np.where(tied, profiles.prior, -np.inf)
    lead = prior.max(axis=1, keepdims=True)
    adjusted = scores[rows, best][:, None] - (lead - profiles.prior)
    return np.where(tied, adjusted, scores)


def _minmax(values: np.ndarray, *, invert: bool = False) -> np.ndarray:
    low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
    span = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(span > 0, (values - low) / np.where(span > 0, span, 1.0), 1.0)
    return 1.0 - scaled if invert else scaled


def efficiency_scores(scores: np.ndarray, costs: np.ndarray | None, alpha: float) -> np.ndarray:
    """α·(min-max normalised accuracy) + (1 − α)·(min-max normalised cheapness), per cluster row.

    At α = 1 this orders models exactly as ``scores`` (the normalisation is monotone per row).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] (got {alpha})")
    if alpha >= 1.0:
        return scores
    if costs is None:
        raise ValueError("alpha < 1 needs the models' costs; the run has none (see `route import` / prices)")
    cheap = _minmax(costs, invert=True)
    cheap = np.where(costs.max(axis=1, keepdims=True) > costs.min(axis=1, keepdims=True), cheap, 1.0)
    return alpha * _minmax(scores) + (1.0 - alpha) * cheap


def model_order(scores: np.ndarray, global_acc: np.ndarray, names: list[str]) -> np.ndarray:
    """Model indices best first for each row of ``scores`` [rows, models]: score, then global accuracy,
    then name."""
    scores = np.atleast_2d(scores)
    name_rank = np.argsort(np.argsort(np.array(names, dtype=object)))
    rows = []
    for row in scores:
        # lexsort: last key is primary. Rounding keeps float noise from breaking exact ties.
        rows.append(np.lexsort((name_rank, -global_acc, -np.round(row, 12))))
    return np.array(rows, dtype=np.int64)


def rank_matrix(scores: np.ndarray, global_acc: np.ndarray, names: list[str]) -> np.ndarray:
    """rank[c, m] = 1 for the best model of cluster c, 2 for the next, ..."""
    order = model_order(scores, global_acc, names)
    ranks = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, order.shape[1] + 1)[None, :]
    return ranks
