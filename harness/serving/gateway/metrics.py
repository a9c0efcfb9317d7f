"""The gateway's counters and latency histograms, rendered in the Prometheus text format (0.0.4)."""

from __future__ import annotations

import bisect
from collections import defaultdict

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
Labels = tuple[tuple[str, str], ...]


class _Histogram:
    __slots__ = ("counts", "total", "count")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, value)] += 1
        self.total += value
        self.count += 1


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in labels
    )
    return "{" + ",".join(escaped) + "}"


class Metrics:
    HELP = {
        "avengers_requests_total": ("counter", "Requests answered, by endpoint and HTTP status."),
        "avengers_model_calls_total": ("counter", "HTTP calls to pool models, by model and outcome."),
        "avengers_samples_total": ("counter", "Samples drawn from pool models, by model."),
        "avengers_votes_total": (
            "counter",
            "Voted answers, by voting mode and whether Model-Switch stopped early.",
        ),
        "avengers_fallbacks_total": (
            "counter",
            "Times a failing model was replaced by the next in the ranking.",
        ),
        "avengers_errors_total": ("counter", "Failed requests, by error type."),
        "avengers_strategy_requests_total": ("counter", "Requests to a pool strategy (MoA, ...), by outcome."),
        "avengers_rejected_total": (
            "counter",
            "Requests refused with 429 because the gateway was saturated.",
        ),
        "avengers_embedding_cache_total": ("counter", "Query embeddings served from the cache or computed."),
        "avengers_tokens_total": ("counter", "Tokens over all samples, by kind."),
        "avengers_in_flight": ("gauge", "Requests being answered now."),
        "avengers_queued": ("gauge", "Requests waiting for a slot."),
        "avengers_request_seconds": ("histogram", "Wall time of a request, by endpoint."),
        "avengers_model_seconds": ("histogram", "Wall time of one model's draw (all its samples), by model."),
        "avengers_overhead_seconds": ("histogram", "Request wall time not spent waiting on pool models."),
        "avengers_embed_seconds": ("histogram", "Time to embed (or look up) the query."),
    }

    def __init__(self) -> None:
        self.counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self.gauges: dict[str, float] = defaultdict(float)
        self.histograms: dict[str, dict[Labels, _Histogram]] = defaultdict(dict)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.counters[name][tuple(sorted(labels.items()))] += amount

    def set_gauge(self, name: str, value: float) -> None:
        self.gauges[name] = value

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        series = self.histograms[name]
        if key not in series:
            series[key] = _Histogram()
        series[key].observe(value)

    def value(self, name: str, **labels: str) -> float:
        return self.counters[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        lines: list[str] = []
        for name, (kind, help_text) in self.HELP.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            if kind == "counter":
                for labels, value in sorted(self.counters.get(name, {}).items()):
                    lines.append(f"{name}{_labels(labels)} {value:g}")
            elif kind == "gauge":
                lines.append(f"{name} {self.gauges.get(name, 0.0):g}")
            else:
                for labels, hist in sorted(self.histograms.get(name, {}).items()):
                    cumulative = 0
                    for bound, count in zip((*LATENCY_BUCKETS, float("inf")), hist.counts, strict=True):
                        cumulative += count
                        le = "+Inf" if bound == float("inf") else f"{bound:g}"
                        lines.append(f"{name}_bucket{_labels((*labels, ('le', le)))} {cumulative}")
                    lines.append(f"{name}_sum{_labels(labels)} {hist.total:.6f}")
                    lines.append(f"{name}_count{_labels(labels)} {hist.count}")
        return "\n".join(lines) + "\n"
