"""The fitted Avengers router: centroids + capability profiles, saved as one self-describing .npz.

Routing variants:

- ``nearest`` (the paper): the query's nearest centroid; models ordered by that cluster's profile,
  ties broken by global calibration accuracy, then by name.
- ``soft`` (the authors' released code): the ``top_clusters`` nearest clusters by cosine distance d_c,
  weights w = softmax(-beta · d), model score sum_c w_c / (rank_c(m) + 0.1); same tie-breaks.
- ``knn`` (a deviation): the ``knn_k`` most similar calibration queries, weights
  softmax(knn_beta · cosine similarity), model score = weighted mean of their scores.
- ``ensemble_ks`` (a deviation, nearest routing): further clusterings with those K; a model's score
  is the mean over clusterings of its routing score in the query's nearest cluster of each.
- ``stratify`` (a deviation): each calibration dataset is clustered on its own with its share of K,
  so every cluster is pure and its prior (``prior="task"``) is exactly its dataset's profile; a
  query (whose dataset the router is not told) still goes to the nearest centroid of any dataset.

A cluster's routing score is its profile (see router/profiles.py: raw mean by default, optional
shrinkage toward a prior and confidence-interval ties) traded against cost when ``alpha`` < 1.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from router.cluster import fit_clusters, fit_within_groups, nearest_centroid
from router.profiles import (
    Profiles,
    cluster_profiles,
    efficiency_scores,
    global_accuracy,
    group_prior,
    model_order,
    rank_matrix,
    tie_adjusted,
)

ARTIFACT_FORMAT = "avengers-router"
ARTIFACT_VERSION = 2
Routing = Literal["nearest", "soft", "knn"]
Prior = Literal["global", "task", "parent"]


class ArtifactError(ValueError):
    """A router file is missing, of another format, or from a newer version."""


class RouterConfig(BaseModel):
    """How a router is fitted; stored in the artifact so `route eval` can refit it with other seeds.

    The defaults are the paper's rule (raw per-cluster scores, nearest cluster, accuracy only);
    ``shrinkage``/``prior``, ``tie_z``, ``ensemble_ks`` and ``alpha`` are documented deviations.
    """

    k: int = Field(default=64, ge=1)
    clusterer: str = "kmeans"
    embedder: str = "minilm"
    seed: int = 42
    split_fraction: float | None = Field(
        default=0.7, description="None when the run's recorded split was used"
    )
    shrinkage: float | Literal["auto"] = Field(
        default=0.0,
        description="pseudo-count pulling cluster profiles to the prior (0 = paper); 'auto' = empirical "
        "Bayes, one per model estimated from the calibration data (router/profiles.py)",
    )
    stratify: bool = Field(
        default=False,
        description="cluster each calibration dataset on its own, K shared in proportion (pure clusters)",
    )
    prior: Prior = Field(default="global", description="what shrinkage and CI ties fall back to")
    parent_k: int = Field(default=8, ge=1, description="clusters of the coarser clustering (prior='parent')")
    tie_z: float = Field(default=0.0, ge=0, description="models within z standard errors of the best tie")
    ensemble_ks: list[int] = Field(
        default_factory=list, description="extra clusterings whose profiles are averaged with K's"
    )
    alpha: float = Field(default=1.0, ge=0, le=1, description="accuracy weight; 1 - alpha weights cheapness")
    routing: Routing = "nearest"
    top_clusters: int = Field(default=3, ge=1, description="soft routing: clusters that vote")
    beta: float = Field(default=9.0, gt=0, description="soft routing: softmax temperature on cosine distance")
    knn_k: int = Field(default=50, ge=1, description="knn routing: calibration neighbours that vote")
    knn_beta: float = Field(
        default=20.0, ge=0, description="knn routing: neighbour weights softmax(knn_beta * cosine similarity)"
    )

    @field_validator("shrinkage")
    @classmethod
    def _non_negative(cls, value):
        if value != "auto" and value < 0:
            raise ValueError(f"shrinkage must be >= 0 or 'auto' (got {value})")
        return value

    def slug(self) -> str:
        """Every option that changes the router, for artifact file names."""
        parts = [f"k{self.k}", self.clusterer + ("-strat" if self.stratify else ""), self.routing]
        if self.routing == "soft":
            parts.append(f"top{self.top_clusters}-b{self.beta:g}")
        if self.routing == "knn":
            parts.append(f"n{self.knn_k}-b{self.knn_beta:g}")
        if self.shrinkage == "auto" or self.shrinkage > 0:
            lam = self.shrinkage if self.shrinkage == "auto" else f"{self.shrinkage:g}"
            parts.append(f"shrink{lam}-{self.prior}")
            if self.prior == "parent":
                parts.append(f"pk{self.parent_k}")
        if self.tie_z > 0:
            parts.append(f"tie{self.tie_z:g}-{self.prior}")
        if self.ensemble_ks:
            parts.append("ens" + "+".join(map(str, self.ensemble_ks)))
        if self.alpha < 1:
            parts.append(f"alpha{self.alpha:g}")
        emb = re.sub(r"[^A-Za-z0-9.]+", "_", self.embedder)[-40:]
        return "-".join([*parts, emb, f"s{self.seed}"])


class RouterMeta(BaseModel):
    format: str = ARTIFACT_FORMAT
    version: int = ARTIFACT_VERSION
    created: str
    config: RouterConfig
    models: list[str]
    tasks: list[str] = Field(default_factory=list)
    split_source: str = "hash"
    n_calibration: int
    n_clusters: int
    dim: int
    level_ks: list[int] = Field(default_factory=list, description="clusters of each ensemble level after K")


@dataclass
class Level:
    """One clustering of the calibration items and the models' profiles on it."""

    centroids: np.ndarray
    profiles: Profiles
    labels: np.ndarray


@dataclass
class LocalData:
    """knn routing: the calibration queries (unit rows) and the models' scores on them (NaN filled)."""

    embeddings: np.ndarray
    scores: np.ndarray


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _task_groups(keys: Sequence[tuple[str, str]]) -> np.ndarray:
    tasks = sorted({t for t, _ in keys})
    return np.array([tasks.index(t) for t, _ in keys], dtype=np.int64)


def _clustering(
    config: RouterConfig, embeddings: np.ndarray, k: int, keys: Sequence[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray]:
    if config.stratify:
        labels, centroids, _ = fit_within_groups(
            embeddings, k, _task_groups(keys), method=config.clusterer, seed=config.seed
        )
        return labels, centroids
    return fit_clusters(embeddings, k, method=config.clusterer, seed=config.seed)


def _prior_groups(
    config: RouterConfig, embeddings: np.ndarray, keys: Sequence[tuple[str, str]]
) -> np.ndarray:
    """Per calibration item, the group its prior is computed on: its dataset, or a coarse cluster."""
    if config.prior == "task":
        return _task_groups(keys)
    if config.prior == "parent":
        return fit_clusters(embeddings, config.parent_k, method="kmeans", seed=config.seed)[0]
    return np.zeros(len(keys), dtype=np.int64)


def _profile(
    labels: np.ndarray,
    n_clusters: int,
    item_scores: np.ndarray,
    groups: np.ndarray,
    config: RouterConfig,
    item_costs: np.ndarray | None,
) -> Profiles:
    g = global_accuracy(item_scores)
    prior = group_prior(labels, n_clusters, groups, item_scores, g)
    return cluster_profiles(
        labels,
        n_clusters,
        item_scores,
        shrinkage=config.shrinkage,
        global_acc=g,
        prior=prior,
        item_costs=item_costs,
    )


class Router:
    def __init__(
        self,
        meta: RouterMeta,
        centroids: np.ndarray,
        profiles: Profiles,
        calibration_keys: Sequence[tuple[str, str]],
        calibration_labels: np.ndarray,
        *,
        extra_levels: Sequence[Level] = (),
        calibration_groups: np.ndarray | None = None,
        local: LocalData | None = None,
    ):
        self.meta = meta
        self.centroids = np.asarray(centroids, dtype=np.float64)
        self.profiles = profiles
        self.calibration_keys = [tuple(k) for k in calibration_keys]
        self.calibration_labels = np.asarray(calibration_labels, dtype=np.int64)
        self.extra_levels = list(extra_levels)
        self.calibration_groups = (
            np.zeros(len(self.calibration_keys), dtype=np.int64)
            if calibration_groups is None
            else np.asarray(calibration_groups, dtype=np.int64)
        )
        self.local = local
        self._embedder = None
        self._refresh()

    def _parts(self) -> dict:
        return {
            "extra_levels": self.extra_levels,
            "calibration_groups": self.calibration_groups,
            "local": self.local,
        }

    @property
    def levels(self) -> list[Level]:
        return [Level(self.centroids, self.profiles, self.calibration_labels), *self.extra_levels]

    def routing_scores(self, profiles: Profiles) -> np.ndarray:
        """[clusters, models] what a cluster's models are ranked by: profile, CI ties, cost trade-off."""
        scores = tie_adjusted(profiles, self.config.tie_z)
        return efficiency_scores(scores, profiles.costs, self.config.alpha)

    def _refresh(self) -> None:
        names = self.meta.models
        g = self.profiles.global_accuracy
        self._level_scores = [self.routing_scores(level.profiles) for level in self.levels]
        self._order = model_order(self._level_scores[0], g, names)
        self._ranks = rank_matrix(self._level_scores[0], g, names)
        finite = np.isfinite(self.centroids)
        safe = np.where(finite, self.centroids, 0.0)
        norms = np.linalg.norm(safe, axis=1, keepdims=True)
        self._unit_centroids = safe / np.maximum(norms, 1e-12)
        self._usable = finite.all(axis=1)

    @property
    def models(self) -> list[str]:
        return list(self.meta.models)

    @property
    def config(self) -> RouterConfig:
        return self.meta.config

    def with_config(self, **update) -> Router:
        """The same clusters and profiles routed with other routing-time options (alpha, tie_z, routing)."""
        meta = self.meta.model_copy(update={"config": self.config.model_copy(update=update)})
        return Router(
            meta,
            self.centroids,
            self.profiles,
            self.calibration_keys,
            self.calibration_labels,
            **self._parts(),
        )

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit(
        cls,
        embeddings: np.ndarray,
        item_scores: np.ndarray,
        models: Sequence[str],
        config: RouterConfig,
        *,
        calibration_keys: Sequence[tuple[str, str]] = (),
        split_source: str = "hash",
        item_costs: np.ndarray | None = None,
    ) -> Router:
        """Cluster calibration ``embeddings`` [n, d] and profile ``item_scores`` [n, models] (NaN = missing).

        ``item_costs`` [n, models]: each model's cost of a routed answer per item (needed for alpha < 1).
        """
        if embeddings.shape[0] != item_scores.shape[0]:
            raise ValueError(f"{embeddings.shape[0]} embeddings but {item_scores.shape[0]} score rows")
        keys = list(calibration_keys) or [("", str(i)) for i in range(embeddings.shape[0])]
        groups = _prior_groups(config, embeddings, keys)
        levels = []
        for k in [config.k, *config.ensemble_ks]:
            labels, centroids = _clustering(config, embeddings, k, keys)
            profiles = _profile(labels, centroids.shape[0], item_scores, groups, config, item_costs)
            levels.append(Level(centroids, profiles, labels))
        first = levels[0]
        meta = RouterMeta(
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            config=config,
            models=list(models),
            tasks=sorted({task for task, _ in keys if task}),
            split_source=split_source,
            n_calibration=int(embeddings.shape[0]),
            n_clusters=int(first.centroids.shape[0]),
            dim=int(embeddings.shape[1]),
            level_ks=[int(level.centroids.shape[0]) for level in levels[1:]],
        )
        local = None
        if config.routing == "knn":
            g = first.profiles.global_accuracy
            filled = np.where(np.isnan(item_scores), g[None, :], item_scores)
            local = LocalData(_unit(embeddings).astype(np.float32), filled)
        return cls(
            meta,
            first.centroids,
            first.profiles,
            keys,
            first.labels,
            extra_levels=levels[1:],
            calibration_groups=groups,
            local=local,
        )

    def add_model(self, name: str, item_scores: Mapping[tuple[str, str], float]) -> Router:
        """A router that also knows ``name``, profiled on the existing clusters (no re-clustering).

        ``item_scores`` maps calibration (task, item_id) to the new model's mean sample score. With
        ``shrinkage="auto"`` a lone column has no interaction to estimate, so it gets its raw cluster
        means: refit to shrink it with the others.
        """
        if name in self.meta.models:
            raise ValueError(f"model {name!r} is already in the router")
        column = np.array([item_scores.get(k, np.nan) for k in self.calibration_keys], dtype=np.float64)
        if np.isnan(column).all():
            raise ValueError(f"model {name!r} has no scores on this router's calibration items")
        grown = []
        for level in self.levels:
            new = _profile(
                level.labels,
                level.centroids.shape[0],
                column[:, None],
                self.calibration_groups,
                self.config,
                None,
            )
            old = level.profiles
            profiles = Profiles(
                scores=np.hstack([old.scores, new.scores]),
                counts=np.hstack([old.counts, new.counts]),
                global_accuracy=np.concatenate([old.global_accuracy, new.global_accuracy]),
                prior=None if old.prior is None else np.hstack([old.prior, new.prior]),
                raw=None if old.raw is None else np.hstack([old.raw, new.raw]),
                costs=None,  # the new model has no costs here: cost routing needs a refit
            )
            grown.append(Level(level.centroids, profiles, level.labels))
        local = None
        if self.local is not None:
            filled = np.where(np.isnan(column), np.nanmean(column), column)[:, None]
            local = LocalData(self.local.embeddings, np.hstack([self.local.scores, filled]))
        return self._with_models([*self.meta.models, name], grown, local)

    def restricted_to(self, models: Sequence[str]) -> Router:
        """The same clusters and profiles with only ``models`` as candidates."""
        positions = [self.meta.models.index(m) for m in models]

        def cut(p: Profiles) -> Profiles:
            def columns(a):
                return None if a is None else a[:, positions]

            return Profiles(
                scores=p.scores[:, positions],
                counts=p.counts[:, positions],
                global_accuracy=p.global_accuracy[positions],
                prior=columns(p.prior),
                raw=columns(p.raw),
                costs=columns(p.costs),
            )

        levels = [Level(level.centroids, cut(level.profiles), level.labels) for level in self.levels]
        local = None if self.local is None else LocalData(self.local.embeddings, self.local.scores[:, positions])
        return self._with_models(models, levels, local)

    def _with_models(self, models: Sequence[str], levels: list[Level], local: LocalData | None) -> Router:
        """This router's calibration items with other candidate models: their levels and local data."""
        meta = self.meta.model_copy(update={"models": list(models)})
        return Router(
            meta,
            levels[0].centroids,
            levels[0].profiles,
            self.calibration_keys,
            self.calibration_labels,
            extra_levels=levels[1:],
            calibration_groups=self.calibration_groups,
            local=local,
        )

    # ------------------------------------------------------------------ routing

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        return nearest_centroid(np.atleast_2d(embeddings), self.centroids)

    def order(self, embeddings: np.ndarray) -> np.ndarray:
        """[n, models] model indices best first for each query embedding."""
        embeddings = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        if self.config.routing == "soft":
            return self._soft_order(embeddings)
        if self.config.routing == "knn":
            return self._knn_order(embeddings)
        if not self.extra_levels:
            return self._order[self.assign(embeddings)]
        combined = np.zeros((embeddings.shape[0], len(self.meta.models)))
        for level, scores in zip(self.levels, self._level_scores, strict=True):
            combined += scores[nearest_centroid(embeddings, level.centroids)]
        return model_order(
            combined / len(self._level_scores), self.profiles.global_accuracy, self.meta.models
        )

    def _soft_order(self, embeddings: np.ndarray) -> np.ndarray:
        unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        distance = 1.0 - unit @ self._unit_centroids.T
        distance[:, ~self._usable] = np.inf
        top = min(self.config.top_clusters, int(self._usable.sum()))
        nearest = np.argsort(distance, axis=1, kind="stable")[:, :top]
        d = np.take_along_axis(distance, nearest, axis=1)
        logits = -self.config.beta * d
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        # scores[q, m] = sum_j weights[q, j] / (rank[nearest[q, j], m] + 0.1)
        scores = np.einsum("qj,qjm->qm", weights, 1.0 / (self._ranks[nearest] + 0.1))
        return model_order(scores, self.profiles.global_accuracy, self.meta.models)

    def _knn_order(self, embeddings: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """Models ordered by the similarity-weighted mean score of the nearest calibration queries."""
        if self.local is None:
            raise ArtifactError("knn routing needs the calibration embeddings; refit with routing='knn'")
        unit = _unit(embeddings)
        k = min(self.config.knn_k, self.local.embeddings.shape[0])
        orders = []
        for start in range(0, unit.shape[0], chunk):
            sims = unit[start : start + chunk] @ self.local.embeddings.T
            neighbours = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            near = np.take_along_axis(sims, neighbours, axis=1)
            weights = np.exp(self.config.knn_beta * (near - near.max(axis=1, keepdims=True)))
            weights /= weights.sum(axis=1, keepdims=True)
            scores = np.einsum("qj,qjm->qm", weights, self.local.scores[neighbours])
            orders.append(model_order(scores, self.profiles.global_accuracy, self.meta.models))
        return np.concatenate(orders)

    def route_embeddings(self, embeddings: np.ndarray, top_n: int = 1) -> list[list[str]]:
        names = self.meta.models
        return [[names[j] for j in row[:top_n]] for row in self.order(embeddings)]

    def route(self, query: str, top_n: int = 1) -> list[str]:
        """The ``top_n`` models for one query text, best first (embeds with the artifact's embedder)."""
        return self.route_many([query], top_n)[0]

    def route_many(self, queries: Sequence[str], top_n: int = 1) -> list[list[str]]:
        return self.route_embeddings(self.embedder().embed(list(queries)), top_n)

    def embedder(self):
        if self._embedder is None:
            from router.embedders import make_embedder

            self._embedder = make_embedder(self.config.embedder)
        return self._embedder

    def use_embedder(self, embedder) -> Router:
        """Route with an already built embedder (must be the artifact's: same spec)."""
        if embedder.spec != self.config.embedder:
            raise ValueError(
                f"router was fitted with embedder {self.config.embedder!r}, not {embedder.spec!r}"
            )
        self._embedder = embedder
        return self

    # ------------------------------------------------------------------ artifact

    def save(self, path: Path | str) -> Path:
        """Write ``path`` (.npz, loadable alone) and a readable copy of its metadata beside it (.json)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta_json = self.meta.model_dump_json(indent=2)
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(meta_json),
            "global_accuracy": self.profiles.global_accuracy,
            "calibration_tasks": np.array([k[0] for k in self.calibration_keys], dtype=str),
            "calibration_items": np.array([k[1] for k in self.calibration_keys], dtype=str),
            "calibration_groups": self.calibration_groups,
        }
        for index, level in enumerate(self.levels):
            arrays.update(_level_arrays(level, "" if index == 0 else f"level{index}_"))
        if self.local is not None:
            arrays["local_embeddings"] = self.local.embeddings
            arrays["local_scores"] = self.local.scores
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        path.with_suffix(".json").write_text(meta_json + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | str) -> Router:
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"router artifact {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{path} is not a router artifact (.npz): {exc}") from exc
        if "meta" not in arrays:
            raise ArtifactError(f"{path} has no 'meta' entry; it is not a router artifact")
        raw = json.loads(str(arrays["meta"]))
        if raw.get("format") != ARTIFACT_FORMAT:
            raise ArtifactError(f"{path}: format {raw.get('format')!r} is not {ARTIFACT_FORMAT!r}")
        if int(raw.get("version", 0)) > ARTIFACT_VERSION:
            raise ArtifactError(
                f"{path}: artifact version {raw['version']} is newer than this harness reads ({ARTIFACT_VERSION})"
            )
        if int(raw.get("version", 0)) < 2:
            # Version 1 artifacts were fitted with shrinkage 1.0 as the default: keep what they did.
            raw.setdefault("config", {}).setdefault("shrinkage", 1.0)
        meta = RouterMeta.model_validate(raw)
        try:
            g = arrays["global_accuracy"]
            levels = [_level_from(arrays, "", g)]
            levels += [_level_from(arrays, f"level{i}_", g) for i in range(1, len(meta.level_ks) + 1)]
            keys = list(
                zip(arrays["calibration_tasks"].tolist(), arrays["calibration_items"].tolist(), strict=True)
            )
            router = cls(
                meta,
                levels[0].centroids,
                levels[0].profiles,
                keys,
                levels[0].labels,
                extra_levels=levels[1:],
                calibration_groups=arrays.get("calibration_groups"),
                local=LocalData(arrays["local_embeddings"], arrays["local_scores"])
                if "local_embeddings" in arrays
                else None,
            )
        except KeyError as exc:
            raise ArtifactError(f"{path}: missing array {exc}") from exc
        if router.profiles.scores.shape != (meta.n_clusters, len(meta.models)):
            raise ArtifactError(
                f"{path}: profile shape {router.profiles.scores.shape} does not match its metadata"
            )
        return router


def _level_arrays(level: Level, prefix: str) -> dict[str, np.ndarray]:
    p = level.profiles
    out = {
        f"{prefix}centroids": level.centroids,
        f"{prefix}profile_scores": p.scores,
        f"{prefix}profile_counts": p.counts,
        "calibration_labels" if not prefix else f"{prefix}labels": level.labels,
    }
    for name in ("prior", "raw", "costs"):
        value = getattr(p, name)
        if value is not None:
            out[f"{prefix}profile_{name}"] = value
    return out


def _level_from(arrays: Mapping[str, np.ndarray], prefix: str, g: np.ndarray) -> Level:
    profiles = Profiles(
        scores=arrays[f"{prefix}profile_scores"],
        counts=arrays[f"{prefix}profile_counts"],
        global_accuracy=g,
        prior=arrays.get(f"{prefix}profile_prior"),
        raw=arrays.get(f"{prefix}profile_raw"),
        costs=arrays.get(f"{prefix}profile_costs"),
    )
    labels = arrays["calibration_labels" if not prefix else f"{prefix}labels"]
    return Level(arrays[f"{prefix}centroids"], profiles, labels)
