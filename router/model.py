"""The fitted Avengers router: centroids + capability profiles, saved as one self-describing .npz.

Routing variants:

- ``nearest`` (the paper): the query's nearest centroid; models ordered by that cluster's profile,
  ties broken by global calibration accuracy, then by name.
- ``soft`` (the authors' released code): the ``top_clusters`` nearest clusters by cosine distance d_c,
  weights w = softmax(-beta · d), model score sum_c w_c / (rank_c(m) + 0.1); same tie-breaks.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from router.cluster import fit_clusters, nearest_centroid
from router.profiles import Profiles, cluster_profiles, model_order, rank_matrix

ARTIFACT_FORMAT = "avengers-router"
ARTIFACT_VERSION = 1
Routing = Literal["nearest", "soft"]


class ArtifactError(ValueError):
    """A router file is missing, of another format, or from a newer version."""


class RouterConfig(BaseModel):
    """How a router is fitted; stored in the artifact so `route eval` can refit it with other seeds."""

    k: int = Field(default=64, ge=1)
    clusterer: str = "kmeans"
    embedder: str = "minilm"
    seed: int = 42
    split_fraction: float | None = Field(
        default=0.7, description="None when the run's recorded split was used"
    )
    shrinkage: float = Field(default=1.0, ge=0, description="pseudo-count pulling cluster profiles to global")
    routing: Routing = "nearest"
    top_clusters: int = Field(default=3, ge=1, description="soft routing: clusters that vote")
    beta: float = Field(default=9.0, gt=0, description="soft routing: softmax temperature on cosine distance")


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


class Router:
    def __init__(
        self,
        meta: RouterMeta,
        centroids: np.ndarray,
        profiles: Profiles,
        calibration_keys: Sequence[tuple[str, str]],
        calibration_labels: np.ndarray,
    ):
        self.meta = meta
        self.centroids = np.asarray(centroids, dtype=np.float64)
        self.profiles = profiles
        self.calibration_keys = [tuple(k) for k in calibration_keys]
        self.calibration_labels = np.asarray(calibration_labels, dtype=np.int64)
        self._embedder = None
        self._refresh()

    def _refresh(self) -> None:
        names = self.meta.models
        self._order = model_order(self.profiles.scores, self.profiles.global_accuracy, names)
        self._ranks = rank_matrix(self.profiles.scores, self.profiles.global_accuracy, names)
        norms = np.linalg.norm(
            np.where(np.isfinite(self.centroids), self.centroids, 0.0), axis=1, keepdims=True
        )
        self._unit_centroids = np.where(np.isfinite(self.centroids), self.centroids, 0.0) / np.maximum(
            norms, 1e-12
        )
        self._usable = np.isfinite(self.centroids).all(axis=1)

    @property
    def models(self) -> list[str]:
        return list(self.meta.models)

    @property
    def config(self) -> RouterConfig:
        return self.meta.config

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
    ) -> Router:
        """Cluster calibration ``embeddings`` [n, d] and profile ``item_scores`` [n, models] (NaN = missing)."""
        if embeddings.shape[0] != item_scores.shape[0]:
            raise ValueError(f"{embeddings.shape[0]} embeddings but {item_scores.shape[0]} score rows")
        labels, centroids = fit_clusters(embeddings, config.k, method=config.clusterer, seed=config.seed)
        profiles = cluster_profiles(labels, centroids.shape[0], item_scores, shrinkage=config.shrinkage)
        keys = list(calibration_keys) or [("", str(i)) for i in range(embeddings.shape[0])]
        meta = RouterMeta(
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            config=config,
            models=list(models),
            tasks=sorted({task for task, _ in keys if task}),
            split_source=split_source,
            n_calibration=int(embeddings.shape[0]),
            n_clusters=int(centroids.shape[0]),
            dim=int(embeddings.shape[1]),
        )
        return cls(meta, centroids, profiles, keys, labels)

    def add_model(self, name: str, item_scores: Mapping[tuple[str, str], float]) -> Router:
        """A router that also knows ``name``, profiled on the existing clusters (no re-clustering).

        ``item_scores`` maps calibration (task, item_id) to the new model's mean sample score.
        """
        if name in self.meta.models:
            raise ValueError(f"model {name!r} is already in the router")
        column = np.array([item_scores.get(k, np.nan) for k in self.calibration_keys], dtype=np.float64)
        if np.isnan(column).all():
            raise ValueError(f"model {name!r} has no scores on this router's calibration items")
        new = cluster_profiles(
            self.calibration_labels, self.centroids.shape[0], column[:, None], shrinkage=self.config.shrinkage
        )
        profiles = Profiles(
            scores=np.hstack([self.profiles.scores, new.scores]),
            counts=np.hstack([self.profiles.counts, new.counts]),
            global_accuracy=np.concatenate([self.profiles.global_accuracy, new.global_accuracy]),
        )
        meta = self.meta.model_copy(update={"models": [*self.meta.models, name]})
        return Router(meta, self.centroids, profiles, self.calibration_keys, self.calibration_labels)

    def restricted_to(self, models: Sequence[str]) -> Router:
        """The same clusters and profiles with only ``models`` as candidates."""
        positions = [self.meta.models.index(m) for m in models]
        profiles = Profiles(
            scores=self.profiles.scores[:, positions],
            counts=self.profiles.counts[:, positions],
            global_accuracy=self.profiles.global_accuracy[positions],
        )
        meta = self.meta.model_copy(update={"models": list(models)})
        return Router(meta, self.centroids, profiles, self.calibration_keys, self.calibration_labels)

    # ------------------------------------------------------------------ routing

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        return nearest_centroid(np.atleast_2d(embeddings), self.centroids)

    def order(self, embeddings: np.ndarray) -> np.ndarray:
        """[n, models] model indices best first for each query embedding."""
        embeddings = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        if self.config.routing == "nearest":
            return self._order[self.assign(embeddings)]
        return self._soft_order(embeddings)

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
        tasks = np.array([k[0] for k in self.calibration_keys], dtype=str)
        items = np.array([k[1] for k in self.calibration_keys], dtype=str)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                meta=np.array(meta_json),
                centroids=self.centroids,
                profile_scores=self.profiles.scores,
                profile_counts=self.profiles.counts,
                global_accuracy=self.profiles.global_accuracy,
                calibration_tasks=tasks,
                calibration_items=items,
                calibration_labels=self.calibration_labels,
            )
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
        meta = RouterMeta.model_validate(raw)
        try:
            profiles = Profiles(arrays["profile_scores"], arrays["profile_counts"], arrays["global_accuracy"])
            keys = list(
                zip(arrays["calibration_tasks"].tolist(), arrays["calibration_items"].tolist(), strict=True)
            )
            router = cls(meta, arrays["centroids"], profiles, keys, arrays["calibration_labels"])
        except KeyError as exc:
            raise ArtifactError(f"{path}: missing array {exc}") from exc
        if router.profiles.scores.shape != (meta.n_clusters, len(meta.models)):
            raise ArtifactError(
                f"{path}: profile shape {router.profiles.scores.shape} does not match its metadata"
            )
        return router
