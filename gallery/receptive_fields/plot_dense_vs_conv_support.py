"""
Dense vs convolutional: what one unit is connected to
=====================================================

"A dense layer connects every pixel to every neuron: how does a neuron decide which part of the
image to look at?" This page puts the two kinds of first layer side by side on the same images.
A unit of a dense layer has one weight per pixel, so its ":term:`receptive field`" is the whole
image, and training alone decides which pixels matter. A unit of a convolutional layer has weights
only for a small window, and the same weights are reused at every position.

:Predict first: After training, does a dense network's hidden unit look at a small local patch
   of the digit, as a convolution filter does?
"""

# %%
# Two networks for the same digits
# --------------------------------
# scikit-learn's handwritten digits, upsampled to 16x16. A multilayer perceptron with one hidden
# layer of 32 units, and a CNN whose first layer has 32 :term:`filters <filter>` of 5x5. Both are
# trained the same way.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, plot, receptive, runtime, stats, train

digits = data.digits(size=16)
schedule = train.Schedule(epochs=runtime.pick(quick=3, default=30, full=60), lr=3e-3)
mlp_config = models.MLPConfig(in_features=16 * 16, num_classes=10, hidden=(32,))
cnn_config = models.CNNConfig(
    in_channels=1, num_classes=10, widths=(32, 32), kernel_sizes=(5, 3), pools=(True, True)
)
mlp = train.fit(mlp_config, digits, schedule, seed=0)
cnn = train.fit(cnn_config, digits, schedule, seed=0)
print(f"dense network: test accuracy {mlp.test_accuracy:.1%}")
print(f"convolutional network: test accuracy {cnn.test_accuracy:.1%}")

# %%
# What each first-layer unit can see
# ----------------------------------
# :func:`layerwise.receptive.receptive_field` works for both networks: flattening counts as
# seeing the whole input.
dense_rf = receptive.receptive_field(mlp.model, (16, 16))["fc1"]
conv_rf = receptive.receptive_field(cnn.model, (16, 16))["conv1"]
print(f"a dense unit (fc1) sees {dense_rf.size[0]}x{dense_rf.size[1]} pixels of the 16x16 image")
print(
    f"a convolutional unit (conv1) sees {conv_rf.size[0]}x{conv_rf.size[1]} pixels, and the "
    f"same filter is applied at {conv_rf.shape[0] * conv_rf.shape[1]} positions"
)

# %%
# The weights as images
# ---------------------
# Top: the weights of eight dense units, each drawn as a 16x16 image (one weight per pixel).
# Bottom: eight convolutional units, each drawn as the input gradient of one unit at a chosen
# position of the map, which is its 5x5 filter placed at that position and zero everywhere
# else. Red is positive, blue negative, white zero.
dense_w = mlp.model.fc1.weight.detach().cpu().reshape(-1, 16, 16)
order = dense_w.abs().sum((1, 2)).argsort(descending=True)[:8]
net = cnn.model.cpu().eval()
positions = [(2, 2), (5, 9), (10, 4), (13, 13), (7, 7), (3, 12), (12, 1), (8, 11)]
conv_maps = []
for channel, (i, j) in enumerate(positions):
    x = torch.zeros(1, 1, 16, 16, requires_grad=True)
    out = net.conv1(x)
    (grad,) = torch.autograd.grad(out[0, channel, i, j], x)
    conv_maps.append(grad[0, 0])

fig, axes = plt.subplots(2, 8, figsize=(11, 3.3), layout="constrained")
for ax, w in zip(axes[0], dense_w[order], strict=True):
    plot.signed_image(ax, w)
for ax, g, (i, j) in zip(axes[1], conv_maps, positions, strict=True):
    plot.signed_image(ax, g)
    ax.set_title(f"unit at ({i},{j})", fontsize=8)
axes[0, 0].set_title("dense units", fontsize=9, loc="left")
fig.suptitle("Dense units weigh every pixel; a convolutional unit only a 5x5 window")
plt.show()


# %%
# How spread out is a unit's weight?
# ----------------------------------
# The share of a unit's total absolute weight that falls inside the 5x5 window where it is
# largest. For a convolutional unit it is 100 % by construction. For a dense unit it measures
# how local its weights are. The null is not "uniform weights" (a 5x5 window is 9.8 % of the
# image): random initial weights are not uniform, and their best window holds more than that
# by chance. So each trained network is compared with its own initial weights
# (:func:`layerwise.train.initial_state`), seed by seed, over several seeds.
def best_window_share(w, k=5):
    a = w.abs()
    windows = torch.nn.functional.avg_pool2d(a[None, None], k, stride=1)[0, 0] * k * k
    return float(windows.max() / a.sum())


def shares_of(weights):
    return np.array([best_window_share(w) for w in weights.detach().cpu().reshape(-1, 16, 16)])


seeds = runtime.seeds(5)
trained_shares, initial_shares = [], []
for result in train.fit_seeds(mlp_config, digits, schedule, seeds, verbose=False):
    trained_shares.append(shares_of(result.model.fc1.weight))
for s in seeds:
    initial_shares.append(shares_of(train.initial_state(mlp_config, s)["fc1.weight"]))
trained = stats.Runs([np.median(x) for x in trained_shares], seeds)
initial = stats.Runs([np.median(x) for x in initial_shares], seeds)
change = stats.paired(trained, initial)
print(f"median share in the best 5x5 window, trained dense units: {trained}")
print(f"median share in the best 5x5 window, the same units' initial weights: {initial}")
print(f"trained minus initial (paired over seeds): {change}")
print(f"a 5x5 window is {25 / 256:.1%} of the 16x16 image")

fig, (ax, per_seed) = plt.subplots(
    1, 2, figsize=(10, 3.4), layout="constrained", gridspec_kw={"width_ratios": [1.6, 1]}
)
bins = np.linspace(0.05, 0.3, 26)
ax.hist(np.concatenate(initial_shares), bins=bins, color="0.6", alpha=0.7, label="initial weights")
ax.hist(np.concatenate(trained_shares), bins=bins, color="C0", alpha=0.7, label="trained")
ax.axvline(25 / 256, color="0.3", ls=":", label="uniform weights (9.8 %)")
ax.set_xlabel("share of absolute weight inside the best 5x5 window")
ax.set_ylabel(f"dense units ({len(seeds)} seeds)")
ax.legend(fontsize=8)
ax.set_title("Every dense unit: trained vs initial weights (convolutional: 100 %)", fontsize=10)
plot.paired_runs(per_seed, initial, trained, labels=("initial", "trained"))
per_seed.set_ylabel("median share over the units")
per_seed.set_title(f"Paired over seeds: change {change.mean * 100:+.1f} points", fontsize=10)
plt.show()

# %%
# The claims: how far training moves the median share away from the initial weights' share,
# and that it stays far from a convolutional unit's 100 %.
stats.claim(
    "Training concentrates a dense unit's weight slightly: the median share in its best 5x5 "
    "window rises above that of the same unit's initial weights (trained minus initial)",
    change,
    above=0.0,
)
stats.claim(
    "A trained dense unit still keeps most of its weight outside its best 5x5 window: the "
    "median share is below 25 % (a convolutional unit: 100 %)",
    trained,
    below=0.25,
)

# %%
# What it shows
# -------------
# A dense unit does not "decide where to look": it is connected to every pixel and training
# sets all 256 weights. Compared with its own random initial weights, training moves a little
# more of a unit's weight into one small window, but the trained unit still spreads most of its
# weight over the image (the median shares, trained and initial, are printed above and in the
# figure), and the images show patterns covering the whole digit. A convolutional unit is
# connected to a 5x5 window by construction, and the same filter is reused at every position,
# so what it learns is a local pattern that can be found anywhere. Locality is built into the
# architecture, not learned; the first page of this chapter showed how stacking such windows
# lets deeper units see more.
