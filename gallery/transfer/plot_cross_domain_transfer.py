"""
Transfer across domains
=======================

Within one dataset, the early blocks of a network transfer well (see
:ref:`sphx_glr_auto_examples_transfer_plot_layer_transfer.py`). The practical question is
different: you have a network trained on plenty of data of one kind, and few labelled examples
of another. Does starting from its features help, and when? Here the source is the generated
line drawings of :func:`layerwise.data.shapes` and the target is handwritten digits. We compare
three ways to learn the digits, as a function of how many labelled digits there are.
"""

# %%
# Source network and target data
# -------------------------------
# The source network learns the eight shape classes. The digits are scikit-learn's 8x8 digits,
# enlarged to the same 16x16 size. The source is chosen for a reason: digits are strokes, and the
# shapes are made of strokes, corners, junctions and curves, so some of what the shape network
# learned should be of use. The same architecture serves both tasks; only the classifier differs.

import matplotlib.pyplot as plt
import numpy as np

from layerwise import data, models, runtime, train, transfer

source_data = data.shapes(
    n_train=runtime.pick(quick=400, default=12000, full=20000),
    n_test=runtime.pick(quick=200, default=1000, full=4000),
    size=16,
)
digits = data.digits(size=16)
config = models.CNNConfig(
    in_channels=1,
    num_classes=source_data.num_classes,
    widths=runtime.pick(quick=(8, 16, 32), default=(8, 16, 32), full=(32, 64, 128)),
)
source = train.fit(
    config,
    source_data,
    train.TrainConfig(epochs=runtime.pick(quick=2, default=15, full=20), lr=3e-3),
    seed=0,
).model
print(f"digits: {len(digits.y_train)} training and {len(digits.y_test)} test images")

# %%
# Three ways to learn the digits
# ------------------------------
# * **frozen features + new head**: all three blocks copied from the shape network and frozen;
#   only the linear classifier is trained;
# * **fine-tuned**: the same start, but every layer is trained;
# * **from scratch**: random initial weights.
#
# Each is trained on class-balanced subsets of the digits (:meth:`layerwise.data.Dataset.subset`),
# one subset per seed, and tested on the full digit test set. Every network gets the same number
# of batches: eight per epoch, whatever the subset size, for the same number of epochs.
sizes = runtime.pick(
    quick=(20, 100), default=(20, 50, 150, 500), full=(10, 20, 50, 150, 500, 1257)
)
seeds = range(runtime.pick(quick=1, default=3, full=5))
depth = config.depth


def schedule(n):
    return train.TrainConfig(
        epochs=runtime.pick(quick=2, default=10, full=30), batch_size=max(2, n // 8), lr=3e-3
    )


methods = ("frozen features + new head", "fine-tuned", "from scratch")
acc = {m: np.zeros((len(sizes), len(seeds))) for m in methods}
for i, n in enumerate(sizes):
    for j, seed in enumerate(seeds):
        subset = digits.subset(n, seed=seed)
        for m in methods:
            cut = 0 if m == "from scratch" else depth
            result = transfer.fit_transfer(
                config, source, subset, cut, schedule(n), fine_tune=m == "fine-tuned", seed=seed
            )
            acc[m][i, j] = result.test_accuracy

print(f"{'labelled digits':>16} " + " ".join(f"{m:>27}" for m in methods))
for i, n in enumerate(sizes):
    cells = [
        f"{acc[m][i].mean():.3f} +- {acc[m][i].std(ddof=1) if len(seeds) > 1 else 0:.3f}"
        for m in methods
    ]
    print(f"{n:>16} " + " ".join(f"{c:>27}" for c in cells))

# %%
# Learning curves
# ---------------
fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
for m, color in zip(methods, ("C0", "C2", "0.3"), strict=True):
    mean = acc[m].mean(1)
    ax.plot(sizes, mean, "o-", color=color, label=m)
    ax.fill_between(sizes, acc[m].min(1), acc[m].max(1), color=color, alpha=0.15)
ax.axhline(1 / digits.num_classes, color="0.6", ls=":", lw=1, label="chance")
ax.set_xscale("log")
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.minorticks_off()
ax.set_xlabel("labelled training digits")
ax.set_ylabel("test accuracy on digits")
ax.set_title("Learning digits: from shape-network features or from scratch")
ax.legend(fontsize=8)
plt.show()

gain = {m: acc[m].mean(1) - acc["from scratch"].mean(1) for m in methods[:2]}
for m, g in gain.items():
    best = int(np.argmax(g))
    print(
        f"{m}: largest gain over scratch {g[best]:+.3f} at {sizes[best]} labelled digits; "
        f"at {sizes[-1]}: {g[-1]:+.3f}"
    )

# %%
# What it shows
# -------------
# A gain counts as real where it is larger than the seed-to-seed spread (standard deviation) of
# training from scratch at that size; the lines below say where that is the case in this run.
spread = acc["from scratch"].std(1, ddof=1) if len(seeds) > 1 else np.zeros(len(sizes))
for m, g in gain.items():
    real = [n for n, d, sd in zip(sizes, g, spread, strict=True) if d > sd]
    worse = [n for n, d, sd in zip(sizes, g, spread, strict=True) if d < -sd]
    print(
        f"{m}: better than scratch at {', '.join(map(str, real)) or 'no size'}; "
        f"worse at {', '.join(map(str, worse)) or 'no size'} (labelled digits)"
    )

# %%
# Read the two transferred curves separately. *Frozen* features can only be as good as what the
# shape network's last block happens to compute, and that block learned what tells the eight
# shape classes apart: on the layer-transfer page, the last block was the one that stopped
# transferring even between photographs of the same kind. A linear classifier on those 32
# channels is the weakest way to learn digits here at every size. *Fine-tuning* uses the same
# start but lets every layer adapt, so the shape network only has to provide a better starting
# point than random weights. Where it helps, it helps most with few labels, and its advantage
# shrinks as labels become plentiful: with enough digits, training from scratch finds the same
# features on its own. The shaded bands are the range over seeds; each seed draws another subset,
# so they include the luck of which digits one happens to have.
