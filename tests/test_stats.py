"""layerwise.stats: intervals over seeds, paired differences, and claims."""

import json
import math

import numpy as np
import pytest

from layerwise import stats


def test_runs_use_the_sample_sd_and_a_t_interval():
    r = stats.Runs([0.90, 0.88, 0.87, 0.91, 0.86])
    assert r.n == 5
    assert r.mean == pytest.approx(0.884)
    assert r.sd == pytest.approx(np.std(r.values, ddof=1))
    iv = r.interval()
    half = 2.7764451 * r.sd / math.sqrt(5)  # t(0.975, 4)
    assert (iv.low, iv.high) == pytest.approx((0.884 - half, 0.884 + half))
    assert str(r) == f"0.884 ± {half:.3f} (n=5)"


def test_one_value_has_no_interval_and_says_so():
    r = stats.Runs([0.5])
    assert math.isnan(r.sd)
    assert r.interval().low == -math.inf
    assert str(r) == "0.500 (n=1)"


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")]])
def test_runs_refuse_empty_or_non_finite_values(bad):
    with pytest.raises(ValueError, match="Runs"):
        stats.Runs(bad)


def test_the_t_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    trials = 4000
    for _ in range(trials):
        iv = stats.Runs(rng.normal(3.0, 2.0, size=5)).interval()
        covered += iv.low < 3.0 < iv.high
    assert 0.935 < covered / trials < 0.965


def test_pairing_removes_the_seed_to_seed_spread():
    rng = np.random.default_rng(1)
    seed_effect = rng.normal(0, 0.05, size=8)  # each seed is easier or harder for both
    a = 0.80 + seed_effect + rng.normal(0, 0.002, size=8)
    b = 0.79 + seed_effect + rng.normal(0, 0.002, size=8)
    p = stats.paired(a, b).interval()
    u = stats.unpaired(a, b)
    assert p.low > 0  # the paired difference is clearly positive...
    assert u.low < 0 < u.high  # ...while the unpaired one cannot tell
    assert p.method == "paired t" and u.method == "Welch t"


def test_paired_refuses_mismatched_seeds():
    with pytest.raises(ValueError, match="one value per seed"):
        stats.paired([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="different seeds"):
        stats.paired(stats.Runs([1, 2], seeds=[0, 1]), stats.Runs([1, 2], seeds=[0, 2]))


def test_wilson_interval_matches_the_textbook_values():
    iv = stats.proportion(7, 20)
    assert (iv.low, iv.high) == pytest.approx((0.1812, 0.5671), abs=1e-4)
    assert stats.proportion(0, 20).low == 0.0
    assert str(iv) == "0.350 [0.181, 0.567] (n=20)"
    with pytest.raises(ValueError, match="successes"):
        stats.proportion(21, 20)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    x = np.arange(30.0)
    a, b = stats.bootstrap(np.mean, x), stats.bootstrap(np.mean, x)
    assert a == b
    assert a.low < 14.5 < a.high
    assert a.estimate == 14.5


def test_exact_numbers_print_without_an_interval():
    assert str(stats.exact(212)) == "212 (exact)"


def test_claims_apply_one_rule_above_below_and_within(monkeypatch):
    monkeypatch.setenv("LAYERWISE_PROFILE", "default")
    diff = stats.paired([0.9, 0.88, 0.87, 0.91, 0.86], [0.5, 0.52, 0.55, 0.6, 0.51])
    assert stats.claim("costs accuracy", diff, above=0.05).holds
    assert not stats.claim("costs a lot", diff, above=0.35).holds  # interval straddles 0.35
    assert stats.claim("costs little", diff, below=0.5).holds
    same = stats.paired([0.9, 0.88, 0.87, 0.91, 0.86], [0.9, 0.87, 0.88, 0.9, 0.86])
    assert stats.claim("unchanged", same, above=-0.02, below=0.02).holds
    assert not stats.claim("unchanged, tightly", same, above=-0.001, below=0.001).holds
    with pytest.raises(ValueError, match="needs a threshold"):
        stats.claim("no rule", diff)


def test_claims_are_not_checked_in_the_quick_profile(monkeypatch):
    monkeypatch.setenv("LAYERWISE_PROFILE", "quick")
    c = stats.claim("anything", stats.Runs([0.1, 0.2]), above=0.5)
    assert not c.holds and c.verdict == "not checked: quick profile"


def test_claims_are_recorded_where_the_build_collects_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAYERWISE_PROFILE", "default")
    path = tmp_path / "claims" / "plot_x.json"
    monkeypatch.setenv(stats.CLAIMS_FILE_VARIABLE, str(path))
    stats.claim("first", stats.Runs([1.0, 1.1, 0.9, 1.0, 1.05]), above=0.5)
    stats.claim("second", stats.exact(3), above=2.5, below=3.5)
    recorded = json.loads(path.read_text())
    assert [c["text"] for c in recorded] == ["first", "second"]
    assert recorded[0]["verdict"] == "holds" and recorded[0]["shown"].endswith("(n=5)")
    assert "Claim: first." in capsys.readouterr().out


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
    with pytest.raises(ValueError, match=r"0 <= successes <= n"):
        stats.proportion_difference(5, 4, 1, 4)


def test_a_vectorized_bootstrap_draws_the_same_resamples():
    # The statistic called once on every resample at once gives the interval of calling it
    # once per resample: the same draws, in the same order.
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=40), rng.normal(0.5, size=25)

    def gap(x, y):
        return np.mean(y, axis=-1) - np.mean(x, axis=-1)

    one_by_one = stats.bootstrap(gap, a, b, resamples=500, seed=3)
    at_once = stats.bootstrap(gap, a, b, resamples=500, seed=3, vectorized=True)
    assert at_once.estimate == one_by_one.estimate
    assert np.isclose(at_once.low, one_by_one.low) and np.isclose(at_once.high, one_by_one.high)
    assert one_by_one.low < 0.5 < one_by_one.high


@pytest.mark.parametrize("lengths", [[7, 7], [50], [33, 33, 33], [40, 25]])
def test_bootstrap_indices_are_the_draws_of_one_resample_after_another(lengths):
    # One call for samples of one length must give what drawing resample by resample, sample
    # by sample, gives: the intervals on the site do not depend on how the indices were drawn.
    drawn = stats._resample_indices(np.random.default_rng(5), lengths, 300)
    rng = np.random.default_rng(5)
    one_by_one = [[rng.integers(0, n, n) for n in lengths] for _ in range(300)]
    for j, n in enumerate(lengths):
        assert drawn[j].shape == (300, n)
        assert np.array_equal(drawn[j], np.stack([resample[j] for resample in one_by_one]))
