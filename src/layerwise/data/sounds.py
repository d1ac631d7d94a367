"""Generated sounds built like speech (tones and chirps -> "words" whose order matters), with
the ground truth of every level."""

from __future__ import annotations

import numpy as np
import torch

from .dataset import Dataset, split_standardised

# Public, and documented, as layerwise.data.TONES.
TONES = ("low", "mid", "high", "rising", "falling")
_TONE_HZ = {
    "low": (300, 300),
    "mid": (600, 600),
    "high": (1200, 1200),
    "rising": (300, 1200),
    "falling": (1200, 300),
}
# Public, and documented, as layerwise.data.WORDS.
WORDS = {
    "LLHL": ("low", "low", "high", "low"),
    "LHLL": ("low", "high", "low", "low"),
    "HHRH": ("high", "high", "rising", "high"),
    "HRHH": ("high", "rising", "high", "high"),
    "MMFM": ("mid", "mid", "falling", "mid"),
    "MFMM": ("mid", "falling", "mid", "mid"),
    "RRLR": ("rising", "rising", "low", "rising"),
    "RLRR": ("rising", "low", "rising", "rising"),
}


def spoken_words(
    n_train: int = 2000,
    n_test: int = 1000,
    *,
    length: int = 768,
    segment: int = 128,
    sample_rate: int = 4000,
    noise: float = 0.3,
    seed: int = 0,
) -> Dataset:
    """Generated sound clips built like speech: sounds -> words whose order matters.

    A clip holds one word from :data:`WORDS`: four sounds from :data:`TONES` in a row (a steady
    tone or a chirp, ``segment`` samples long, with a smooth envelope). The word starts at a
    random time; every sound's pitch varies by up to 8 % and its loudness by a factor up to 2;
    Gaussian noise of standard deviation ``noise`` is added. ``x_*`` have shape
    (N, 1, ``length``); the label is the word. Two easier labels, and the ground truth behind
    them, are in ``labels_train`` / ``labels_test``:

    * ``tone_set`` (N,): which tones occur (an order-free label; one class per pair of words);
    * ``order`` (N,): which word of its pair it is, 0 or 1 (needs three sounds in a row);
    * ``tones`` (N, 4): the four sounds (indices into :data:`TONES`); ``onset`` (N,): the
      start sample.
    """
    if length < 4 * segment:
        raise ValueError(f"length must hold the four sounds of a word: at least {4 * segment}.")
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    word_names = list(WORDS)
    words = rng.integers(0, len(WORDS), size=n)
    tones = np.array([[TONES.index(t) for t in WORDS[word_names[w]]] for w in words])  # (N, 4)
    onset = rng.integers(0, length - 4 * segment + 1, size=n)
    t = np.arange(segment) / sample_rate
    envelope = np.sin(np.pi * np.arange(segment) / segment) ** 0.5
    x = np.zeros((n, length))
    for k in range(4):
        f0, f1 = np.array([_TONE_HZ[TONES[i]] for i in tones[:, k]], dtype=float).T
        pitch = rng.uniform(0.92, 1.08, size=n)
        f0, f1 = f0 * pitch, f1 * pitch
        # Linear chirp: the phase is the integral of a frequency going from f0 to f1.
        duration = segment / sample_rate
        phase = 2 * np.pi * (f0[:, None] * t + (f1 - f0)[:, None] * t**2 / (2 * duration))
        phase += rng.uniform(0, 2 * np.pi, size=(n, 1))
        loud = rng.uniform(0.5, 1.0, size=(n, 1))
        sound = loud * envelope * np.sin(phase)
        cols = onset[:, None] + k * segment + np.arange(segment)
        x[np.arange(n)[:, None], cols] = sound
    x += noise * rng.standard_normal(x.shape)
    x = torch.from_numpy(x).float().unsqueeze(1)
    truth = {
        "tone_set": torch.from_numpy(words // 2).long(),
        "order": torch.from_numpy(words % 2).long(),
        "tones": torch.from_numpy(tones).long(),
        "onset": torch.from_numpy(onset).long(),
    }
    y = torch.from_numpy(words).long()
    return split_standardised(
        f"spoken_words(length={length}, segment={segment}, noise={noise}, seed={seed}, v2)",
        x,
        y,
        n_train,
        word_names,
        truth,
    )
