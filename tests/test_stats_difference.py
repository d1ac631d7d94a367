import numpy as np
import pytest

from layerwise import stats


def test_proportion_difference_matches_newcombes_worked_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 vs 48/80.
    d = stats.proportion_difference(56, 70, 48, 80)
    assert d.estimate == pytest.approx(0.2)
    assert d.low == pytest.approx(0.0524, abs=5e-4)
    assert d.high == pytest.approx(0.3339, abs=5e-4)
    assert d.method == "Newcombe" and d.n == 150
    assert "[" in str(d)


def test_proportion_difference_is_antisymmetric_and_handles_zero_counts():
    ab, ba = stats.proportion_difference(0, 24, 11, 24), stats.proportion_difference(11, 24, 0, 24)
    assert ab.estimate == pytest.approx(-ba.estimate)
    assert ab.low == pytest.approx(-ba.high) and ab.high == pytest.approx(-ba.low)
    assert ba.low > 0  # 11/24 against 0/24 is a clear difference
    same = stats.proportion_difference(12, 24, 12, 24)
    assert same.low < 0 < same.high


def test_proportion_difference_covers_the_true_difference():
    rng = np.random.default_rng(1)
    p, q, n, trials = 0.7, 0.4, 30, 2000
    hits = 0
    for _ in range(trials):
        d = stats.proportion_difference(rng.binomial(n, p), n, rng.binomial(n, q), n)
        hits += d.low <= p - q <= d.high
    assert 0.93 <= hits / trials <= 0.98


def test_proportion_difference_rejects_impossible_counts():
    with pytest.raises(ValueError):
        stats.proportion_difference(5, 4, 1, 4)
