"""
Does the video's dense network learn "edges, then loops"?
=========================================================

A popular video explains a digit classifier with two hidden layers of 16 units (784-16-16-10)
by hoping that the first hidden layer detects small strokes and the second combines them into
loops and lines. Does it? We train that network over several seeds, next to its untrained
controls and a small CNN, and measure two things: what the first layer's weights look like
(local strokes or global blobs) and which hidden layer makes stroke-level and shape-level
properties of a digit linearly readable (:term:`linear probes <linear probe>`).

:Predict first: Does the popular 784-16-16-10 digit network learn strokes in its first hidden
   layer and loops in its second?
"""

# %%
# Data, networks and labels
# -------------------------
# The digits are scikit-learn's 8x8 digits scaled up to 28x28 (the video's input size; MNIST
# itself is not shipped with any package this site uses offline). Two labels describe each
# image beyond its class:
#
# * **stroke level**: the quadrant of the image that holds the most ink (4 classes);
# * **shape level**: whether the digit has a closed loop (0, 6, 8 and 9; 2 classes).
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, plot, runtime, similarity, stats, train

# sphinx_gallery_thumbnail_number = 2
digits = data.digits(size=28)
print(digits)


def quadrant(x):
    ink = digits.denormalize(x)[:, 0]
    q = torch.stack([ink[:, :14, :14], ink[:, :14, 14:], ink[:, 14:, :14], ink[:, 14:, 14:]], 1)
    return q.flatten(2).sum(-1).argmax(1)


def loop(y):
    return torch.isin(y, torch.tensor([0, 6, 8, 9])).long()


labels = {
    "ink quadrant (stroke)": (quadrant(digits.x_train), quadrant(digits.x_test)),
    "closed loop (shape)": (loop(digits.y_train), loop(digits.y_test)),
}
chance = {name: torch.bincount(y).max().item() / len(y) for name, (y, _) in labels.items()}

dense = models.MLPConfig(in_features=28 * 28, hidden=(16, 16), num_classes=10)
cnn = models.CNNConfig(
    in_channels=1, num_classes=10, widths=(8, 16), kernel_sizes=(5, 3), strides=(2, 1)
)
seeds = runtime.seeds(15)  # the layer-1 vs layer-2 differences are a few points: 15 seeds
nets = {
    "dense 784-16-16-10": (dense, ["act1", "act2"], runtime.pick(quick=3, default=30, full=60)),
    "CNN 8-16": (cnn, ["pool1", "pool2"], runtime.pick(quick=2, default=10, full=30)),
}
for name, (config, _, _) in nets.items():
    count = sum(p.numel() for p in config.build().parameters())
    print(f"{name}: {count} parameters")

# %%
# Training, and probing both hidden layers
# ----------------------------------------
acc, results = {}, {}
for name, (config, layers, epochs) in nets.items():
    schedule = train.Schedule(epochs=epochs, batch_size=64)
    results[name] = train.fit_seeds(config, digits, schedule, seeds=seeds)
    for kind in ("trained", "untrained"):
        table = np.zeros((len(seeds), len(layers), len(labels)))
        for i, s in enumerate(seeds):
            model = results[name][i].model if kind == "trained" else train.untrained(config, s)
            rows = similarity.probe_layers(
                model.cpu(), digits.x_train, digits.x_test, layers, labels, grid=4
            )
            got = {(r.layer, r.label): r.test_accuracy for r in rows}
            table[i] = [[got[layer, label] for label in labels] for layer in layers]
        acc[name, kind] = table
    print(f"{name}: digit accuracy {stats.Runs([r.test_accuracy for r in results[name]])}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained", sharey=True)
for ax, (k, label) in zip(axes, enumerate(labels), strict=True):
    for n, name in enumerate(nets):
        for kind, style in (("trained", "-"), ("untrained", ":")):
            per_layer = acc[name, kind][:, :, k].T  # one row of seeds per hidden layer
            plot.errorbar(
                ax, [0, 1], per_layer, fmt="o" + style, color=f"C{n}", label=f"{name}, {kind}"
            )
    ax.axhline(chance[label], color="grey", ls="--", lw=1, label="chance")
    ax.set(xticks=[0, 1], xticklabels=["hidden layer 1", "hidden layer 2"], title=label)
    ax.set_xlim(-0.3, 1.3)
axes[0].set_ylabel("probe test accuracy")
axes[1].legend(fontsize=7, loc="lower right")
fig.suptitle(f"What each hidden layer makes readable ({len(seeds)} seeds, 95 % intervals)")
plt.show()

# %%
# The numbers behind the figure: layer 2 minus layer 1, paired by seed.
for (name, kind), a in acc.items():
    for k, label in enumerate(labels):
        diff = stats.paired(a[:, 1, k], a[:, 0, k])
        print(f"{name:>18} {kind:>9} {label}: layer 2 minus layer 1 {diff}")


# %%
# Where does a first-layer unit look?
# -----------------------------------
# The share of a dense unit's absolute weight inside the 7x7 window where it is largest (6 %
# of the image: what uniform weights would give). The control is the same unit's initial
# weights.
def best_window_share(w, k=7):
    a = w.abs().view(28, 28)
    windows = torch.nn.functional.avg_pool2d(a[None, None], k, stride=1)[0, 0] * k * k
    return float(windows.max() / a.sum())


support = {
    kind: stats.Runs(
        [
            np.median([best_window_share(w) for w in ws])
            for ws in (
                [r.model.fc1.weight.detach().cpu() for r in results["dense 784-16-16-10"]]
                if kind == "trained"
                else [train.initial_state(dense, s)["fc1.weight"] for s in seeds]
            )
        ],
        seeds,
    )
    for kind in ("trained", "initial")
}
for kind, runs in support.items():
    print(f"{kind} dense units, share of weight in the best 7x7 window (median unit): {runs}")
support_gain = stats.paired(support["trained"], support["initial"])
print(f"trained minus initial: {support_gain}")

w = results["dense 784-16-16-10"][0].model.fc1.weight.detach().cpu().view(16, 28, 28)
fig, axes = plt.subplots(2, 8, figsize=(11, 3.2), layout="constrained")
for ax, unit in zip(axes.flat, w, strict=True):
    plot.signed_image(ax, unit)
fig.suptitle("The 16 first-layer units of the dense network (seed 0; red +, blue -)")
plt.show()

stats.claim(
    "Training concentrates the dense network's first-layer weights (median share in the best "
    "7x7 window, trained minus initial, paired by seed)",
    support_gain,
    above=0,
)
stats.claim(
    "Yet a trained first-layer unit of the dense network stays global, not a local stroke "
    "detector: well under half of its weight lies in its best 7x7 window",
    support["trained"],
    below=0.5,
)
loop_gain = stats.paired(
    acc["dense 784-16-16-10", "trained"][:, 1, 1], acc["dense 784-16-16-10", "trained"][:, 0, 1]
)
stats.claim(
    "In the trained dense network, the closed-loop label is barely more readable from hidden "
    "layer 2 than from hidden layer 1: the difference in probe accuracy lies within 5 points "
    "(paired by seed)",
    loop_gain,
    above=-0.05,
    below=0.05,
)

# %%
# What it shows
# -------------
# The video's hope holds only in part. The first-layer units of the 784-16-16-10 network do not
# become local stroke detectors: training gathers more of a unit's weight into one region than its
# random start had, but most of it stays spread over the digit, in the large positive and negative
# blobs of the weight images above (a few units even keep the look of their random start). The
# closed-loop property, the "loops" of the video, is barely more readable from the second hidden
# layer than from the first: the difference is under five points of probe accuracy (the last
# claim), and the first hidden layer already reads it well above chance. The stroke-level label
# (where the ink is) goes the other way, in trained and untrained networks alike: it is best read
# from the first layer and partly lost in the second, which keeps only what the digit classes
# need. The small CNN, whose units are local by construction, reads the loop label equally well
# from both layers (the printed differences). So "edges, then loops" is not what this dense
# network learns; what it learns is a set of global templates that the second layer recombines
# into the classes.
