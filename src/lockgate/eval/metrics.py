"""Metrics per model and per (model, tag).

* **score**: mean over graded items, with a 95% interval — Wilson score interval when every
  score is 0 or 1, else a percentile bootstrap (2,000 resamples, fixed seed, so the report is
  reproducible).
* **refusal rate**: share of answered items the refusal detector flags (``refusal.py``).
* **TTFT p50/p95** (seconds, linear-interpolated percentiles) and **tokens/s** = total
  completion tokens / total decode time (first token to end of stream).
* **cost per 1,000 items** = mean item cost x 1,000, where item cost = prompt tokens x input
  price + completion tokens x output price (prices per 1M tokens); ``None`` without prices.
* **failures**: items with a transport/API error or that could not be graded.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from lockgate.eval.results import ItemResult

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 2000


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (q in 0..100)."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def bootstrap(
    values: list[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    if not values:
        return (0.0, 1.0)
    rng = random.Random(seed)
    n = len(values)
    means = [statistics.fmean(rng.choices(values, k=n)) for _ in range(resamples)]
    low, high = percentile(means, 2.5), percentile(means, 97.5)
    assert low is not None and high is not None
    return (low, high)


def mean_ci(scores: list[float]) -> tuple[float | None, float | None, float | None]:
    if not scores:
        return (None, None, None)
    mean = statistics.fmean(scores)
    if all(s in (0.0, 1.0) for s in scores):
        lo, hi = wilson(sum(1 for s in scores if s == 1.0), len(scores))
    else:
        lo, hi = bootstrap(scores)
    return (mean, lo, hi)


class GroupMetrics(BaseModel):
    n: int
    graded: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    refusals: int
    refusal_rate: float | None
    ttft_p50: float | None
    ttft_p95: float | None
    latency_p50: float | None
    tokens_per_s: float | None
    cost_per_1k: float | None
    failures: int


def summarise(results: list[ItemResult]) -> GroupMetrics:
    scores = [r.score for r in results if r.error is None and r.score is not None]
    answered = [r for r in results if r.error is None]
    mean, lo, hi = mean_ci(scores)
    refusals = sum(1 for r in answered if r.refused)
    gen = sum(r.gen_s for r in answered)
    costs = [r.cost for r in answered if r.cost is not None]
    return GroupMetrics(
        n=len(results),
        graded=len(scores),
        mean=mean,
        ci_low=lo,
        ci_high=hi,
        refusals=refusals,
        refusal_rate=refusals / len(answered) if answered else None,
        ttft_p50=percentile((r.ttft_s for r in answered if r.ttft_s is not None), 50),
        ttft_p95=percentile((r.ttft_s for r in answered if r.ttft_s is not None), 95),
        latency_p50=percentile((r.latency_s for r in answered), 50),
        tokens_per_s=sum(r.completion_tokens for r in answered) / gen if gen > 0 else None,
        cost_per_1k=statistics.fmean(costs) * 1000 if costs else None,
        failures=sum(1 for r in results if r.failed),
    )


class Metrics(BaseModel):
    by_model: dict[str, GroupMetrics]
    by_tag: dict[str, dict[str, GroupMetrics]]  # model -> tag -> metrics


def compute(results: list[ItemResult], models: list[str]) -> Metrics:
    per_model: dict[str, list[ItemResult]] = {m: [] for m in models}
    per_tag: dict[str, dict[str, list[ItemResult]]] = {m: defaultdict(list) for m in models}
    for r in results:
        per_model.setdefault(r.model, []).append(r)
        for tag in r.tags:
            per_tag.setdefault(r.model, defaultdict(list))[tag].append(r)
    return Metrics(
        by_model={m: summarise(rs) for m, rs in per_model.items()},
        by_tag={m: {t: summarise(rs) for t, rs in sorted(tags.items())} for m, tags in per_tag.items()},
    )
