from __future__ import annotations

import math

import pytest

from lockgate.eval.metrics import bootstrap, compute, mean_ci, percentile, summarise, wilson
from lockgate.eval.results import ItemResult


def test_wilson_known_values() -> None:
    lo, hi = wilson(8, 10)
    # Wilson 95% interval for 8/10 (z = 1.96): [0.4902, 0.9433]
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)
    lo, hi = wilson(50, 100)
    assert (lo + hi) / 2 == pytest.approx(0.5) and hi - lo == pytest.approx(2 * 0.0960, abs=1e-3)


def test_percentile_interpolates() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([], 50) is None
    assert percentile(range(101), 95) == 95


def test_bootstrap_is_seeded_and_contains_mean() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.6, 0.55, 0.2, 0.9]
    assert bootstrap(values) == bootstrap(values)
    lo, hi = bootstrap(values)
    mean = sum(values) / len(values)
    assert lo < mean < hi
    # the percentile bootstrap roughly matches the normal interval for this sample
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    assert hi - lo == pytest.approx(2 * 1.96 * sd / math.sqrt(len(values)), rel=0.35)


def test_mean_ci_picks_wilson_for_binary() -> None:
    mean, lo, hi = mean_ci([1.0, 0.0, 1.0, 1.0])
    assert mean == 0.75 and (lo, hi) == wilson(3, 4)
    assert mean_ci([]) == (None, None, None)


def r(model: str, score: float | None, **kw: object) -> ItemResult:
    base: dict[str, object] = {
        "item_id": f"i{id(kw)}",
        "tags": ["t"],
        "ttft_s": 0.1,
        "gen_s": 1.0,
        "completion_tokens": 10,
    }
    return ItemResult.model_validate({**base, "model": model, "score": score, **kw})


def test_summarise_counts_everything() -> None:
    rows = [
        r("m", 1.0, ttft_s=0.1, cost=0.002, prompt_tokens=5),
        r("m", 0.0, ttft_s=0.3, refused=True, cost=0.004),
        r("m", None, error="APIConnectionError: down"),
        r("m", None, ttft_s=0.2),  # ungraded (e.g. judge gave no score)
    ]
    g = summarise(rows)
    assert g.n == 4 and g.graded == 2 and g.failures == 2
    assert g.mean == 0.5
    assert g.refusals == 1 and g.refusal_rate == pytest.approx(1 / 3)
    assert g.ttft_p50 == pytest.approx(0.2) and g.ttft_p95 == pytest.approx(0.29)
    assert g.tokens_per_s == pytest.approx(10.0)
    assert g.cost_per_1k == pytest.approx(3.0)


def test_compute_by_model_and_tag() -> None:
    rows = [r("a", 1.0, tags=["x", "y"]), r("a", 0.0, tags=["y"]), r("b", 1.0, tags=["x"])]
    m = compute(rows, ["a", "b"])
    assert m.by_model["a"].mean == 0.5 and m.by_model["b"].mean == 1.0
    assert m.by_tag["a"]["x"].mean == 1.0 and m.by_tag["a"]["y"].mean == 0.5
    assert "y" not in m.by_tag["b"]
    assert m.by_model["a"].cost_per_1k is None
