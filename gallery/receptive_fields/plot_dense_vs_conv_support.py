"""
Dense vs convolutional: what one unit is connected to
=====================================================

"A dense layer connects every pixel to every neuron: how does a neuron decide which part of the
image to look at?" This page puts the two kinds of first layer side by side on the same images.
A unit of a dense layer has one weight per pixel, so its "receptive field" is the whole image,
and training alone decides which pixels matter. A unit of a convolutional layer has weights
only for a small window, and the same weights are reused at every position.
"""

# %%
# Two networks for the same digits
# --------------------------------
# scikit-learn's handwritten digits, upsampled to 16x16. A multilayer perceptron with one hidden
# layer of 32 units, and a CNN whose first layer has 32 filters of 5x5. Both are trained the same
# way.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, receptive, runtime, train

digits = data.digits(size=16)
schedule = train.TrainConfig(epochs=runtime.pick(quick=3, default=30, full=60), lr=3e-3)
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
    lim = float(w.abs().max())
    ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_axis_off()
for ax, g, (i, j) in zip(axes[1], conv_maps, positions, strict=True):
    lim = float(g.abs().max())
    ax.imshow(g, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"unit at ({i},{j})", fontsize=8)
    ax.set_axis_off()
axes[0, 0].set_title("dense units", fontsize=9, loc="left")
fig.suptitle("Dense units weigh every pixel; a convolutional unit only a 5x5 window")
plt.show()


# %%
# How spread out is a unit's weight?
# ----------------------------------
# The share of a unit's total absolute weight that falls inside the 5x5 window where it is
# largest. For a convolutional unit it is 100 % by construction. For a dense unit it measures
# how local training made it.
def best_window_share(w, k=5):
    a = w.abs()
    windows = torch.nn.functional.avg_pool2d(a[None, None], k, stride=1)[0, 0] * k * k
    return float(windows.max() / a.sum())


shares = np.array([best_window_share(w) for w in dense_w])
print(
    f"dense units: {np.median(shares):.1%} of the absolute weight in the best 5x5 window "
    f"(median over {len(shares)} units; min {shares.min():.1%}, max {shares.max():.1%}); "
    f"a 5x5 window is {25 / 256:.1%} of the image"
)
fig, ax = plt.subplots(figsize=(6.4, 3), layout="constrained")
ax.hist(shares, bins=np.linspace(0, 1, 21), color="C0", label="dense units")
ax.axvline(1.0, color="C3", lw=3, label="convolutional units")
ax.axvline(25 / 256, color="0.4", ls=":", label="uniform weights")
ax.set_xlabel("share of absolute weight inside the best 5x5 window")
ax.set_ylabel("units")
ax.legend(fontsize=8)
ax.set_title("Dense units spread their weight over the image", fontsize=10)
plt.show()

# %%
# What it shows
# -------------
# A dense unit does not "decide where to look": it is connected to every pixel and training
# sets all 256 weights. The printed shares say how much of each dense unit's weight ends up in
# one small window, against the share a window would get with uniform weights; the images show
# the patterns spread over the digit. A convolutional unit is connected to a 5x5 window by
# construction, and the same filter is reused at every position, so what it learns is a local
# pattern that can be found anywhere. Locality is built into the architecture, not learned; the
# first page of this chapter showed how stacking such windows lets deeper units see more.
