"""
End to end vs a hand-designed pipeline
======================================

Before deep learning, a vision system was a pipeline: hand-designed :term:`filters <filter>` (edge
detectors, Gabor filters) followed by a trained classifier.
:term:`End-to-end learning <end-to-end learning>` trains the filters too. The usual claim: the
hand-designed pipeline wins when there are few examples, end-to-end learning wins with more. We
test it on digits with learning curves over several seeds.

:Predict first: Fixed, hand-designed edge filters or a learned first layer: which gives better
   accuracy with 20 training digits, and which with 100?
"""

# %%
# Two versions of one network
# ---------------------------
# The same CNN twice. In the *pipeline*, the first layer is a fixed bank of two Sobel and eight
# Gabor filters (:func:`layerwise.filters.hand_designed_bank`), frozen; only the layers above
# it are trained. *End to end*, the first layer starts random and is trained with the rest.
# The digits are scikit-learn's, at 12x12.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, filters, models, plot, runtime, stats, train

digits = data.digits(size=12)
bank = filters.hand_designed_bank(size=5)
config = models.CNNConfig(
    in_channels=1, num_classes=10, widths=(len(bank), 16), kernel_sizes=(5, 3)
)
pipeline_init = {"conv1.weight": bank, "conv1.bias": torch.zeros(len(bank))}
names = ["Sobel x", "Sobel y"] + [f"Gabor {k + 1}" for k in range(len(bank) - 2)]
fig = plot.filter_grid(bank, ncols=5, size=1.3, titles=names)
fig.suptitle(
    "The pipeline's fixed first layer: two Sobel and eight Gabor filters, 5x5", fontsize=10
)
plt.show()

# %%
# Learning curves
# ---------------
# Both versions are trained on class-balanced subsets of the training digits
# (:meth:`layerwise.data.Dataset.subset`, a different subset for each seed, the same one for
# both versions), for enough epochs to fit their training set (more passes over smaller sets),
# and tested on the full test set. Every size is repeated over ten seeds, and the two versions
# are compared seed by seed.
sizes = runtime.pick(quick=[20, 100], default=[20, 50, 100], full=[20, 50, 100, 300, 500, 1257])
epochs = {10: 100, 20: 80, 50: 60, 100: 50, 300: 30, 500: 25, 1257: 25}
if runtime.profile() == "quick":
    epochs = {n: 3 for n in epochs}
seeds = runtime.seeds(10)
accuracy = {"pipeline": [], "end to end": []}
fitted = {"pipeline": [], "end to end": []}
for n in sizes:
    batch = min(50, n)
    schedule = train.Schedule(epochs=epochs[n], batch_size=batch, lr=1e-2)
    runs = {"pipeline": [], "end to end": []}
    for s in seeds:
        subset = digits.subset(n, seed=s) if n < len(digits.y_train) else digits
        runs["pipeline"].append(
            train.fit(
                config,
                subset,
                schedule,
                seed=s,
                init_state=pipeline_init,
                freeze=("conv1",),
                verbose=False,
            )
        )
        runs["end to end"].append(train.fit(config, subset, schedule, seed=s, verbose=False))
    for name, results in runs.items():
        accuracy[name].append(stats.Runs([r.test_accuracy for r in results], seeds))
        fitted[name].append(stats.Runs([r.train_accuracy for r in results], seeds))
difference = [
    stats.paired(e, p) for e, p in zip(accuracy["end to end"], accuracy["pipeline"], strict=True)
]
for i, n in enumerate(sizes):
    print(
        f"{n:4d} training digits: pipeline {accuracy['pipeline'][i]}, "
        f"end to end {accuracy['end to end'][i]} (train accuracy "
        f"{fitted['pipeline'][i].mean:.3f} and {fitted['end to end'][i].mean:.3f}); "
        f"end to end minus pipeline {difference[i]}"
    )

# %%
# Left: test accuracy against the number of training digits, every seed as a dot, the mean
# with its 95 % interval. Right: the paired difference, end to end minus pipeline, seed by
# seed, with its 95 % interval: above zero, end to end wins.
fig, (ax, gap) = plt.subplots(1, 2, figsize=(10, 3.9), layout="constrained")
for a in (ax, gap):
    a.set_xscale("log")
for k, name in enumerate(accuracy):
    shifted = np.array(sizes) * (0.92 if k == 0 else 1.08)  # side by side at each size
    plot.runs(ax, shifted, accuracy[name], color=f"C{k}", label=name, spread=0.03)
    ax.plot(shifted, [r.mean for r in accuracy[name]], color=f"C{k}", lw=1)
ax.set(xlabel="training digits", ylabel="test accuracy", ylim=(0, 1))
ax.axhline(0.1, color="0.4", ls=":", lw=1)
ax.set_title("Hand-designed first layer vs learned", fontsize=10)
ax.legend(loc="lower right")
plot.runs(gap, sizes, difference, color="C3", spread=0.05)
gap.axhline(0, color="0.3", lw=1)
gap.set(xlabel="training digits", ylabel="end to end minus pipeline")
gap.set_title("Paired difference (above 0: end to end wins)", fontsize=10)
for a in (ax, gap):
    a.set_xticks(sizes, [str(n) for n in sizes])
    a.minorticks_off()
plt.show()

# %%
# The claims: with two digits per class the two versions are within 5 points of each other;
# with ten per class end to end is ahead.
i20, i100 = sizes.index(20), sizes.index(100)
stats.claim(
    "With 20 training digits (2 per class) the hand-designed first layer and the learned one "
    "reach the same test accuracy within 5 points",
    difference[i20],
    above=-0.05,
    below=0.05,
)
stats.claim(
    "With 100 training digits (10 per class) end-to-end training beats the hand-designed "
    "first layer (end to end minus pipeline)",
    difference[i100],
    above=0.0,
)

# %%
# What it shows
# -------------
# The usual story is that hand-designed filters win when examples are scarce. Here they do
# not: with two digits per class the pipeline and end-to-end training are within 5 points of
# each other, and with ten digits per class end-to-end training is ahead (the measured
# differences are printed above and drawn on the right). The hand-designed bank is a good one
# for digits -- edges and bars are what trained first layers become (see
# :ref:`chapter-first-layers`) -- but ten 5x5 filters are few weights to discover, and a learned
# first layer is fitted to this task rather than to images in general. Two things limit the
# comparison. The pipeline is generous: only its first layer is fixed and everything above it
# is learned, while the classic pipelines fixed much more. And the first layer here is small;
# what a learned layer costs in data grows with the number of weights it has to discover.
