"""Measurements over seeds, their 95 % intervals, and the claims a page makes.

One convention for the whole site (the methods page says it once):

* A measurement repeated over seeds is a :class:`Runs`: its mean, its **sample** standard
  deviation (``ddof=1``) and a t-based 95 % interval for the mean. It prints as
  ``0.874 ± 0.026 (n=5)``, where ``±`` is the half-width of that interval.
* Two conditions trained from the same seeds are compared **paired** (:func:`paired`: the
  per-seed difference and its interval); :func:`unpaired` (Welch) only where pairing is
  impossible. Shares of successes use :func:`proportion` (Wilson interval); a statistic of one
  sample uses :func:`bootstrap`.
* **The decision rule:** an effect is claimed when its 95 % interval lies entirely above (or
  below) the stated threshold -- zero unless the claim names another. A claim that two things
  are *the same* gives both bounds: the interval must lie inside them.

A page states its headline results with :func:`claim`::

    claim("Shuffling the pixels costs the CNN accuracy", paired(cnn, cnn_shuffled), above=0.05)

The claim prints one line, and, inside a site build, is written where the build collects it:
the build puts the page's claims in an answer box at the top of the page, lists every claim on
the Claims page, and fails (in the default and full profiles) when one does not hold.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats as _scipy

from . import runtime

__all__ = [
    "CLAIMS_FILE_VARIABLE",
    "Claim",
    "Interval",
    "Runs",
    "bootstrap",
    "claim",
    "exact",
    "paired",
    "proportion",
    "proportion_difference",
    "unpaired",
]

#: Environment variable naming the JSON file a site build collects a page's claims in.
CLAIMS_FILE_VARIABLE = "LAYERWISE_CLAIMS_FILE"

LEVEL = 0.95


def _digits(*numbers: float) -> int:
    """Decimals enough to show the smallest non-zero number with two significant digits."""
    finite = [abs(x) for x in numbers if math.isfinite(x) and x != 0]
    if not finite:
        return 3
    return int(min(6, max(3, 1 - math.floor(math.log10(min(finite))))))


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % interval ``[low, high]``, from ``n`` observations.

    ``method`` says how the interval was computed (``"t"``, ``"paired t"``, ``"Welch t"``,
    ``"Wilson"``, ``"bootstrap"``).
    """

    estimate: float
    low: float
    high: float
    n: int
    method: str = "t"

    def __post_init__(self):
        for name in ("estimate", "low", "high"):  # plain floats, never NumPy scalars
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))

    def __str__(self) -> str:
        d = _digits(self.estimate, self.high - self.low)
        if self.method == "exact":
            return f"{self.estimate:g} (exact)"
        if not math.isfinite(self.low):
            return f"{self.estimate:.{d}f} (n={self.n})"
        if self.method in ("t", "paired t"):
            return f"{self.estimate:.{d}f} ± {(self.high - self.low) / 2:.{d}f} (n={self.n})"
        return f"{self.estimate:.{d}f} [{self.low:.{d}f}, {self.high:.{d}f}] (n={self.n})"

    def interval(self) -> Interval:
        return self


@dataclass(frozen=True)
class Runs:
    """One measurement repeated over seeds (or other independent repetitions).

    Parameters
    ----------
    values
        One number per seed, in seed order (pairing relies on that order).
    seeds
        The seeds, if known; :func:`paired` checks that both sides used the same ones.
    """

    values: tuple[float, ...]
    seeds: tuple[int, ...] | None = None

    def __init__(self, values, seeds=None):
        vals = tuple(float(v) for v in np.asarray(values, dtype=float).ravel())
        if not vals:
            raise ValueError("Runs needs at least one value.")
        if not all(math.isfinite(v) for v in vals):
            raise ValueError(f"Runs got a value that is not a finite number: {vals}.")
        if seeds is not None:
            seeds = tuple(int(s) for s in seeds)
            if len(seeds) != len(vals):
                raise ValueError(f"{len(vals)} values but {len(seeds)} seeds.")
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "seeds", seeds)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        """Sample standard deviation (``ddof=1``); NaN for a single value."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else float("nan")

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.values)

    def interval(self, method: str = "t") -> Interval:
        """The mean with its t-based 95 % interval (infinite for a single value)."""
        if self.n < 2:
            return Interval(self.mean, -math.inf, math.inf, self.n, method)
        half = _scipy.t.ppf(0.5 + LEVEL / 2, self.n - 1) * self.sd / math.sqrt(self.n)
        return Interval(self.mean, self.mean - half, self.mean + half, self.n, method)

    def __str__(self) -> str:
        return str(self.interval())

    def __len__(self) -> int:
        return self.n


def paired(a: Runs | Sequence[float], b: Runs | Sequence[float]) -> Runs:
    """Per-seed differences ``a - b`` of two conditions trained from the same seeds.

    Returns a :class:`Runs` of the differences, whose interval is the paired t interval.
    """
    a, b = _runs(a), _runs(b)
    if a.n != b.n:
        raise ValueError(f"paired() needs one value per seed on both sides; got {a.n} and {b.n}.")
    if a.seeds is not None and b.seeds is not None and a.seeds != b.seeds:
        raise ValueError(f"paired() got different seeds: {a.seeds} and {b.seeds}.")
    diff = Runs(a.array - b.array, a.seeds if a.seeds is not None else b.seeds)
    return _PairedRuns(diff.values, diff.seeds)


class _PairedRuns(Runs):
    def interval(self, method: str = "paired t") -> Interval:
        return super().interval(method)


def unpaired(a: Runs | Sequence[float], b: Runs | Sequence[float]) -> Interval:
    """Difference of means ``a - b`` of independent samples, with Welch's 95 % interval."""
    a, b = _runs(a), _runs(b)
    if a.n < 2 or b.n < 2:
        raise ValueError("unpaired() needs at least two values on each side.")
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    diff = a.mean - b.mean
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(diff, diff, diff, a.n + b.n, "Welch t")
    dof = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = _scipy.t.ppf(0.5 + LEVEL / 2, dof) * se
    return Interval(diff, diff - half, diff + half, a.n + b.n, "Welch t")


def exact(value: float) -> Interval:
    """A number with no sampling error (computed, not estimated): its interval is the number.

    For claims about deterministic computations, e.g. a receptive field worked out from the
    architecture, or a circuit's gate count.
    """
    return Interval(float(value), float(value), float(value), 1, "exact")


def proportion(successes: int, n: int) -> Interval:
    """A share of successes with its Wilson 95 % interval."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(
            f"proportion() needs 0 <= successes <= n and n >= 1; got {successes}/{n}."
        )
    z = _scipy.norm.ppf(0.5 + LEVEL / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n, "Wilson")


def proportion_difference(successes_a: int, n_a: int, successes_b: int, n_b: int) -> Interval:
    """The difference of two independent shares of successes, ``a - b``, with Newcombe's
    hybrid score 95 % interval (built from the two Wilson intervals; Newcombe 1998, method 10).

    For two groups of runs that cannot be paired, e.g. networks of two architectures each
    trained from its own seeds::

        proportion_difference(22, 24, 11, 24)   # 22 of 24 shallow vs 11 of 24 deep runs solved
    """
    a, b = proportion(successes_a, n_a), proportion(successes_b, n_b)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, low, high, n_a + n_b, "Newcombe")


def bootstrap(
    statistic: Callable[..., float],
    *samples: np.ndarray,
    resamples: int = 2000,
    seed: int = 0,
    vectorized: bool = False,
) -> Interval:
    """``statistic(*samples)`` with a percentile bootstrap 95 % interval.

    Each sample is resampled with replacement along its first axis, independently, ``resamples``
    times (seeded, so the interval is the same on every run). With ``vectorized``, ``statistic``
    is called once for all resamples: each sample it receives has a new first axis, one entry
    per resample, and it returns one value per resample (the draws are the same either way).
    """
    samples = [np.asarray(s) for s in samples]
    picks = _resample_indices(np.random.default_rng(seed), [len(s) for s in samples], resamples)
    if vectorized:
        estimate = float(np.asarray(statistic(*[s[None] for s in samples])).reshape(-1)[0])
        resampled = [s[p] for s, p in zip(samples, picks, strict=True)]
        draws = np.asarray(statistic(*resampled), dtype=float).reshape(resamples)
    else:
        estimate = float(statistic(*samples))
        draws = np.empty(resamples)
        for i in range(resamples):
            draws[i] = statistic(*[s[p[i]] for s, p in zip(samples, picks, strict=True)])
    low, high = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return Interval(estimate, float(low), float(high), min(len(s) for s in samples), "bootstrap")


def _resample_indices(rng: np.random.Generator, lengths: list[int], resamples: int):
    """For each sample, a (resamples, length) array of indices drawn with replacement: resample
    by resample, within a resample sample by sample, ``rng.integers(0, length, length)``.

    When the samples are of one length the draws come from one call, which yields the same
    numbers as the calls one by one (numpy's generator fills an array element by element) at a
    fraction of the time: the face page drew 126,000 small arrays in 2.5 s.
    """
    if len(set(lengths)) == 1:
        n = lengths[0]
        every = rng.integers(0, n, (resamples, len(lengths), n))
        return [every[:, j] for j in range(len(lengths))]
    every = [[rng.integers(0, n, n) for n in lengths] for _ in range(resamples)]
    return [np.stack([p[j] for p in every]) for j in range(len(lengths))]


def _runs(x) -> Runs:
    return x if isinstance(x, Runs) else Runs(x)


# --------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------


@dataclass
class Claim:
    """A headline result of a page: what it says, what was measured, and whether it holds."""

    text: str
    measured: Interval
    above: float | None = None
    below: float | None = None
    unit: str = ""
    holds: bool = field(init=False)
    checked: bool = field(init=False)

    def __post_init__(self):
        if self.above is None and self.below is None:
            raise ValueError(
                f"claim {self.text!r} needs a threshold: above=..., below=..., or both "
                "(for 'the same within')."
            )
        low, high = self.measured.low, self.measured.high
        self.holds = bool(
            (self.above is None or low > self.above) and (self.below is None or high < self.below)
        )
        self.checked = runtime.profile() != "quick"

    @property
    def rule(self) -> str:
        if self.above is not None and self.below is not None:
            return f"95 % interval inside ({self.above:g}, {self.below:g})"
        if self.above is not None:
            return f"95 % interval above {self.above:g}"
        return f"95 % interval below {self.below:g}"

    @property
    def verdict(self) -> str:
        if not self.checked:
            return "not checked: quick profile"
        return "holds" if self.holds else "does not hold"

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "measured": asdict(self.measured),
            "shown": str(self.measured) + (f" {self.unit}" if self.unit else ""),
            "rule": self.rule,
            "holds": self.holds,
            "checked": self.checked,
            "verdict": self.verdict,
        }

    def __str__(self) -> str:
        m = self.measured
        d = _digits(m.estimate, m.high - m.low)
        interval = f"[{m.low:.{d}f}, {m.high:.{d}f}]" if math.isfinite(m.low) else "(no interval)"
        return (
            f"Claim: {self.text}. Measured {m}{' ' + self.unit if self.unit else ''}, "
            f"95 % interval {interval}; rule: {self.rule}; {self.verdict}."
        )


def claim(
    text: str,
    measured: Runs | Interval,
    *,
    above: float | None = None,
    below: float | None = None,
    unit: str = "",
) -> Claim:
    """State a headline result: it holds when ``measured``'s 95 % interval clears the threshold.

    ``above=t``: the whole interval is above ``t``; ``below=t``: below ``t``; both: inside
    ``(above, below)``, for claims that two things do not differ by more than a margin.
    Prints the claim with its measurement and verdict; in a site build it is also recorded for
    the page's answer box and the Claims page (see the module docstring).
    """
    result = Claim(text, measured.interval(), above=above, below=below, unit=unit)
    print(result)
    path = os.environ.get(CLAIMS_FILE_VARIABLE)
    if path:
        path = Path(path)
        try:
            recorded = json.loads(path.read_text())
        except (OSError, ValueError):
            recorded = []
        recorded.append(result.to_dict())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(recorded, indent=1))
    return result
