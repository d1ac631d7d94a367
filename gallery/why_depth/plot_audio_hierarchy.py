"""
Not only images: a hierarchy in sound
=====================================

Edges -> parts -> objects is the image version of the story. Speech has one too: sounds ->
phonemes -> words. Here a 1-D CNN hears generated "words": each word is two "phoneme"-like
units, each unit two sounds (a steady tone or a chirp). We look at its first-layer filters and
ask each layer, with linear probes, which level of the hierarchy it makes readable.
"""

# %%
# The sounds
# ----------
# :func:`layerwise.data.spoken_words` composes tones and chirps into units and units into words,
# at a random time in each clip, with random pitch, loudness and noise. Some words differ only
# in the order of their units, so a word cannot be read from any single sound.
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from layerwise import data, features, models, runtime, similarity, train

sounds = data.spoken_words(
    n_train=runtime.pick(quick=600, default=3000, full=8000),
    n_test=runtime.pick(quick=300, default=1000, full=2000),
)
print(sounds)
print("units:", data.UNITS)
print("words:", data.WORDS)
fig, axes = plt.subplots(2, 2, figsize=(10, 3.6), layout="constrained", sharex=True)
for ax, i in zip(axes.flat, range(4), strict=True):
    ax.plot(sounds.x_train[i, 0].numpy(), lw=0.5)
    ax.set_title(f"word '{sounds.classes[sounds.y_train[i]]}'", fontsize=9)
    ax.set_yticks([])
fig.supxlabel("sample (4000 per second)")
plt.show()

# %%
# The network
# -----------
# Four blocks of 1-D convolution, ReLU and max-pooling (:class:`layerwise.models.CNN1dConfig`),
# then global average pooling and a linear classifier of words.
config = models.CNN1dConfig(
    in_channels=1,
    num_classes=sounds.num_classes,
    widths=(16, 32, 64, 64),
    kernel_sizes=(31, 9, 9, 9),
)
schedule = train.TrainConfig(epochs=runtime.pick(quick=2, default=15, full=30), batch_size=64)
seeds = list(range(runtime.pick(quick=1, default=2, full=3)))
results = [train.fit(config, sounds, schedule, seed=s) for s in seeds]

# %%
# First-layer filters
# -------------------
# Each first-layer filter as a waveform, and its frequency response (magnitude of its Fourier
# transform), seed 0.
w = results[0].model.conv1.weight.detach().cpu()[:, 0]
response = torch.fft.rfft(w, n=256).abs()
freqs = np.fft.rfftfreq(256, d=1 / 4000)
order = response.argmax(1).argsort()
fig, axes = plt.subplots(2, 8, figsize=(11, 3.2), layout="constrained")
for ax, k in zip(axes.flat, order, strict=True):
    ax.plot(w[k].numpy(), lw=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"peak {freqs[response[k].argmax()]:.0f} Hz", fontsize=8)
fig.suptitle("First-layer filters of the sound network, sorted by the frequency they prefer")
plt.show()
fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
ax.imshow(response[order].numpy(), aspect="auto", extent=(0, 2000, len(w) - 0.5, -0.5))
for hz in (300, 600, 1200):
    ax.axvline(hz, color="w", ls=":", lw=1)
ax.set(xlabel="frequency (Hz); dotted: the three tones", ylabel="filter")
ax.set_title("Frequency responses of the first-layer filters")
plt.show()

# %%
# Probing each layer
# ------------------
# For every layer we read out three labels with a linear probe
# (:func:`layerwise.similarity.linear_probe`): the first sound of the word (5 classes), its
# first unit (6 classes) and the word (8 classes). Each probe is fitted twice, on two views of a
# layer's feature maps:
#
# * **8 time bins**: the maps averaged into 8 stretches of time and concatenated. The probe
#   sees *when* each channel responds, so it can combine sounds at different times itself.
# * **whole clip**: the maps averaged over all time. The probe sees only *which* channels
#   respond, so a label that depends on order (the word ``bada`` against ``daba``) is readable
#   only if the layer has units that respond to the order itself.
layers = ["input", "relu1", "relu2", "relu3", "relu4"]
targets = {"first sound": "tone", "first unit": "unit", "word": None}
views = {"8 time bins": 8, "whole clip": 1}
n_probe = runtime.pick(quick=300, default=2000, full=4000)

probe = {(v, t): np.zeros((len(seeds), len(layers))) for v in views for t in targets}
for i, r in enumerate(results):
    tr = features.extract(r.model, sounds.x_train[:n_probe], layers[1:])
    te = features.extract(r.model, sounds.x_test, layers[1:])
    tr["input"], te["input"] = sounds.x_train[:n_probe], sounds.x_test
    for t, part in targets.items():
        ytr = sounds.parts_train[part][:n_probe] if part else sounds.y_train[:n_probe]
        yte = sounds.parts_test[part] if part else sounds.y_test
        for v, bins in views.items():
            for j, name in enumerate(layers):
                probe[v, t][i, j] = similarity.linear_probe(
                    F.adaptive_avg_pool1d(tr[name], bins).flatten(1),
                    ytr,
                    F.adaptive_avg_pool1d(te[name], bins).flatten(1),
                    yte,
                ).test_accuracy
for (v, t), acc in probe.items():
    print(
        f"{v:>11}, {t:11s} probe test accuracy, mean over seeds {seeds}: "
        + ", ".join(f"{n} {a:.3f}" for n, a in zip(layers, acc.mean(0), strict=True))
    )
print(
    "word classification by the network itself: "
    + ", ".join(f"seed {s}: {r.test_accuracy:.3f}" for s, r in zip(seeds, results, strict=True))
)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", sharey=True)
for ax, v in zip(axes, views, strict=True):
    for t in targets:
        acc = probe[v, t]
        ax.errorbar(
            range(len(layers)), acc.mean(0), yerr=acc.std(0), marker="o", capsize=3, label=t
        )
    ax.set(xticks=range(len(layers)), xticklabels=layers, ylim=(0, 1.02))
    ax.set_title(f"probe on {v}")
axes[0].set_ylabel("linear probe test accuracy")
axes[0].legend(loc="lower right")
fig.suptitle("What each layer makes linearly readable, with and without the timing of its units")
plt.show()

# %%
# Where does each label become readable? The first layer at which a probe reaches 90 % of its
# best accuracy, per view:
for v in views:
    first = {}
    for t in targets:
        mean = probe[v, t].mean(0)
        first[t] = layers[int(np.argmax(mean >= 0.9 * mean.max()))]
    print(f"{v:>11}: " + ", ".join(f"{t} from {name}" for t, name in first.items()))

# %%
# What it shows
# -------------
# The first-layer filters are the 1-D counterpart of a first image layer: each one is a short
# waveform, and its frequency response says which pitches it passes. Compare their printed
# peak frequencies with the three tones (dotted lines): filters tuned near the frequencies
# present in the sounds are the analogue of edge detectors for a signal whose building blocks
# are frequencies.
#
# The two probe views answer different questions, and the difference between them is the point.
# With 8 time bins the probe does the composing itself: it sees which sounds occur in which
# stretch of time, and a linear read-out over time can tell ``bada`` from ``daba`` from the
# first layer on, so this view cannot show a hierarchy, however the network is organised. With
# the whole clip averaged, the timing is gone and a label is readable only if the layer's units
# themselves respond to it; the lines above say at which layer each label becomes readable in
# that view. Note that all three labels are about order: the *first* sound and the *first* unit
# are defined by what comes before what, just like the word. A unit can only respond to an order
# if its receptive field spans more than one sound, and receptive fields grow with depth (see
# :ref:`chapter-receptive-fields`): that is the composition depth provides, the same argument
# as for images. Where the printed lines give the same layer for all three labels, the
# experiment shows no ladder in which sounds become readable before units and units before
# words: with these labels, every level needs the same step, from units that hear one sound to
# units that hear two.
