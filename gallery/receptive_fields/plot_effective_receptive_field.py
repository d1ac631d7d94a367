"""
Effective vs theoretical receptive field
========================================

The receptive field says which pixels a unit *can* see. Does the unit use all of them equally?
Luo et al. :cite:`luo2016understanding` measured the *effective* receptive field: how strongly
each input pixel moves a centre unit, read off the input gradient. They found it is roughly
Gaussian, fills only part of the theoretical field, and grows only like the square root of the
depth while the theoretical field grows linearly. This page measures it for stacks of 3x3
convolutions of depth 1 to 32, at initialisation and after training.
"""

# %%
# Stacks of 3x3 convolutions
# --------------------------
# Each network is ``n`` 3x3 convolutions with ReLU and no pooling, so the theoretical field is
# 2n + 1 pixels wide. Weights start with He initialisation and biases at zero, which
# keeps the signal's scale from layer to layer even at depth 32.
# :func:`layerwise.receptive.effective_receptive_field` takes the gradient of the centre unit
# (all channels) with respect to a random input, keeps its absolute value, and averages over
# inputs and over fresh random initialisations; it also returns the standard deviation of the
# resulting map, the width of the matching Gaussian.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, receptive, runtime, train

depths = [1, 2, 4, 8, 16, 32]
n_samples = runtime.pick(quick=4, default=16, full=64)
width = runtime.pick(quick=4, default=8, full=32)
size = 2 * max(depths) + 33  # room around the largest theoretical field


def stack(n):
    """A function that builds a fresh depth-``n`` stack with He initialisation, zero biases."""
    config = models.CNNConfig(
        in_channels=1, widths=(width,) * n, pools=(False,) * n, batchnorm=False
    )

    def build():
        net = config.build()
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                torch.nn.init.zeros_(m.bias)
        return net

    return build


runtime.seed_everything(0)
erfs = {
    n: receptive.effective_receptive_field(stack(n), f"relu{n}", size, n_samples=n_samples)
    for n in depths
}
theory = {n: receptive.receptive_field(stack(n)(), size)[f"conv{n}"].size[0] for n in depths}
for n in depths:
    print(
        f"depth {n:2d}: theoretical field {theory[n]:3d} px, effective width (std) "
        f"{np.mean(erfs[n].std):5.2f} px"
    )

# %%
# The maps, each on its own colour scale, cropped to the largest theoretical field; the dashed
# square is the theoretical field.
half = max(theory.values()) // 2 + 2
fig, axes = plt.subplots(1, len(depths), figsize=(12, 2.6), layout="constrained")
for n, ax in zip(depths, axes, strict=True):
    cy, cx = (round(c) for c in erfs[n].centre)
    ax.imshow(erfs[n].map[cy - half : cy + half + 1, cx - half : cx + half + 1], cmap="magma")
    r = theory[n]
    ax.add_patch(
        plt.Rectangle((half - r / 2, half - r / 2), r, r, fill=False, ls="--", color="white", lw=1)
    )
    ax.set_title(f"depth {n}", fontsize=9)
    ax.set_axis_off()
fig.suptitle("Effective receptive field at initialisation (dashed: theoretical field)")
plt.show()

# %%
# Width against depth
# -------------------
# On log-log axes a power law is a straight line whose slope is the exponent. The theoretical
# size grows like n; for a stack of *linear* layers with equal 3x3 kernels the gradient
# map is the kernel convolved with itself n times, whose standard deviation is exactly
# √(2n/3) (slope 1/2).
n_arr = np.array(depths, dtype=float)
std = np.array([np.mean(erfs[n].std) for n in depths])
slope, intercept = np.polyfit(np.log(n_arr), np.log(std), 1)
slope_theory = np.polyfit(np.log(n_arr), np.log([theory[n] for n in depths]), 1)[0]
print(f"fitted exponent, effective width vs depth: {slope:.3f}")
print(f"fitted exponent, theoretical size vs depth: {slope_theory:.3f}")
print(
    f"from depth 1 to {depths[-1]} the theoretical size grows {theory[depths[-1]] / theory[1]:.1f}"
    f"-fold, the effective width {std[-1] / std[0]:.1f}-fold"
)

fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
ax.loglog(n_arr, [theory[n] for n in depths], "s--", color="0.4", label="theoretical size")
ax.loglog(n_arr, std, "o-", color="C3", label=f"effective width, random init (slope {slope:.2f})")
ax.loglog(n_arr, np.sqrt(2 * n_arr / 3), ":", color="C0", label="linear uniform stack: sqrt(2n/3)")
ax.set_xlabel("depth (number of 3x3 layers)")
ax.set_ylabel("pixels")
ax.legend(fontsize=8)
ax.set_title(
    f"Width grows like depth^{slope:.2f}, the theoretical size like depth^{slope_theory:.2f}",
    fontsize=10,
)
plt.show()

# %%
# After training
# --------------
# Luo et al. report that training widens the effective field. We train stacks of a few depths
# (with batch normalisation, then global pooling and a linear classifier) on scikit-learn's
# handwritten digits upsampled to 16x16, and measure the effective field on test digits before
# and after training: the same network from the same seed, the same digits. Three seeds per
# depth; the deepest stack's theoretical field (13 pixels) still fits in the image.
digits = data.digits(size=16)
test_inputs = digits.x_test[: runtime.pick(quick=8, default=64, full=256)]
trained_depths = runtime.pick(quick=[2, 4], default=[2, 4, 6], full=[2, 4, 6])
seeds = runtime.pick(quick=[0], default=[0, 1, 2], full=[0, 1, 2, 3, 4])
schedule = train.TrainConfig(epochs=runtime.pick(quick=2, default=8, full=40), lr=3e-3)
before, after = {}, {}
for n in trained_depths:
    config = models.CNNConfig(
        in_channels=1, num_classes=digits.num_classes, widths=(8,) * n, pools=(False,) * n
    )
    for seed in seeds:
        runtime.seed_everything(seed)
        initial = config.build()
        result = train.fit(config, digits, schedule, seed=seed, verbose=False)
        before[n, seed] = receptive.effective_receptive_field(
            initial, f"relu{n}", 16, inputs=test_inputs
        )
        after[n, seed] = receptive.effective_receptive_field(
            result.model.cpu(), f"relu{n}", 16, inputs=test_inputs
        )
        print(
            f"depth {n}, seed {seed}: test accuracy {result.test_accuracy:.0%}, effective width "
            f"{np.mean(before[n, seed].std):.2f} px at init -> {np.mean(after[n, seed].std):.2f}"
            " px trained"
        )

# %%
fig, axes = plt.subplots(
    2,
    len(trained_depths),
    figsize=(2.6 * len(trained_depths), 5.2),
    layout="constrained",
    squeeze=False,
)
for col, n in enumerate(trained_depths):
    for row, (label, maps) in enumerate([("initialisation", before), ("trained", after)]):
        mean_map = torch.stack([maps[n, s].map for s in seeds]).mean(0)
        axes[row, col].imshow(mean_map, cmap="magma")
        axes[row, col].set_title(f"depth {n}, {label}", fontsize=9)
        axes[row, col].set_axis_off()
fig.suptitle("Effective field on test digits, before and after training")
plt.show()

for n in trained_depths:
    b = [np.mean(before[n, s].std) for s in seeds]
    a = [np.mean(after[n, s].std) for s in seeds]
    print(
        f"depth {n}: effective width {np.mean(b):.2f} ± {np.std(b):.2f} px at init, "
        f"{np.mean(a):.2f} ± {np.std(a):.2f} px trained (mean ± std over {len(seeds)} seeds), "
        f"theoretical field {2 * n + 1} px, change {np.mean(a) / np.mean(b) - 1:+.1%}"
    )

# %%
# What it shows
# -------------
# At initialisation the printed widths follow a power law in depth whose fitted exponent is
# printed above, next to the exponent of the theoretical size: the effective field is a
# blurred blob in the middle of the theoretical square, and it widens more slowly than the
# square does, so a deep unit leans on the centre of its field and barely on the border. The
# comparison after training is printed per depth and seed, with the relative change of the
# mean width: it says whether training on these digits widened the effective field, as Luo et
# al. found for their networks, and by how much compared with the spread over seeds. Note the
# printed test accuracies: stacks this shallow, without pooling, see only a small patch of a
# digit before the global average, and are trained for a few epochs only, while Luo et al.
# trained full networks to convergence; a small change here neither confirms nor rules out
# their finding.
