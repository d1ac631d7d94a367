"""
Effective vs theoretical receptive field
========================================

The :term:`receptive field` says which pixels a unit *can* see. Does the unit use all of them
equally? Luo et al. :cite:`luo2016understanding` measured the *effective* receptive field: how
strongly each input pixel moves a centre unit, read off the input gradient. They found it is
roughly Gaussian, fills only part of the theoretical field, and grows only like the square root of
the depth while the theoretical field grows linearly. This page measures it for stacks of 3x3
convolutions of depth 1 to 32, at initialisation and after training.

:Predict first: Does a unit use its whole theoretical receptive field, and does training change
   how much of it the unit uses?
"""

# %%
# Stacks of 3x3 convolutions
# --------------------------
# Each network is ``n`` 3x3 convolutions with ReLU and no :term:`pooling`, so the theoretical field
# is 2n + 1 pixels wide. Weights start with He initialisation and biases at zero, which keeps the
# signal's scale from layer to layer even at depth 32.
# :func:`layerwise.receptive.effective_receptive_field` takes the gradient of the centre unit (all
# :term:`channels <channel>`) with respect to a random input, keeps its absolute value, and
# averages over inputs and over fresh random initialisations; it also returns the standard
# deviation of the resulting map, the width of the matching Gaussian.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, plot, readout, receptive, runtime, stats, train

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


seeds = runtime.seeds(5)
per_seed = runtime.pick(quick=2, default=4, full=8)  # random initialisations per seed and depth
erfs = {
    (n, s): receptive.effective_receptive_field(
        stack(n), f"relu{n}", size, n_samples=per_seed, seed=s
    )
    for n in depths
    for s in seeds
}
theory = {n: receptive.receptive_field(stack(n)(), size)[f"conv{n}"].size[0] for n in depths}
widths = {n: stats.Runs([np.mean(erfs[n, s].std) for s in seeds], seeds) for n in depths}
for n in depths:
    print(
        f"depth {n:2d}: theoretical field {theory[n]:3d} px, effective width (std) {widths[n]} px"
    )

# %%
# The maps (seed 0), each on its own colour scale, cropped to the largest theoretical field;
# the dashed square is the theoretical field.
half = max(theory.values()) // 2 + 2
fig, axes = plt.subplots(1, len(depths), figsize=(12, 2.6), layout="constrained")
for n, ax in zip(depths, axes, strict=True):
    erf = erfs[n, seeds[0]]
    cy, cx = (round(c) for c in erf.centre)
    crop = erf.map[cy - half : cy + half + 1, cx - half : cx + half + 1]
    plot.field_map(ax, crop, (half, half), theory[n], cmap="magma")
    ax.set_title(f"depth {n}", fontsize=9)
fig.suptitle("Effective receptive field at initialisation (dashed: theoretical field)")
plt.show()

# %%
# Width against depth
# -------------------
# On log-log axes a power law is a straight line whose slope is the exponent. The theoretical
# size grows like n; for a stack of *linear* layers with equal 3x3 kernels the gradient
# map is the kernel convolved with itself n times, whose standard deviation is exactly
# √(2n/3) (slope 1/2). The exponent is fitted once per seed (each seed's own random networks),
# which gives it an interval.
n_arr = np.array(depths, dtype=float)
slopes = stats.Runs(
    [
        np.polyfit(np.log(n_arr), np.log([widths[n].values[k] for n in depths]), 1)[0]
        for k in range(len(seeds))
    ],
    seeds,
)
slope_theory = np.polyfit(np.log(n_arr), np.log([theory[n] for n in depths]), 1)[0]
std = np.array([widths[n].mean for n in depths])
print(f"fitted exponent, effective width vs depth: {slopes}")
print(f"fitted exponent, theoretical size vs depth: {slope_theory:.3f}")
print(
    f"from depth 1 to {depths[-1]} the theoretical size grows {theory[depths[-1]] / theory[1]:.1f}"
    f"-fold, the effective width {std[-1] / std[0]:.1f}-fold"
)

fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
ax.set(xscale="log", yscale="log")
ax.plot(n_arr, [theory[n] for n in depths], "s--", color="0.4", label="theoretical size")
plot.runs(
    ax,
    n_arr,
    [widths[n] for n in depths],
    color="C3",
    label=f"effective width, random init (slope {slopes.mean:.2f})",
)
ax.plot(n_arr, np.sqrt(2 * n_arr / 3), ":", color="C0", label="linear uniform stack: sqrt(2n/3)")
ax.set_xlabel("depth (number of 3x3 layers)")
ax.set_ylabel("pixels")
ax.legend(fontsize=8)
ax.set_title(
    f"Width grows like depth^{slopes.mean:.2f}, "
    f"the theoretical size like depth^{slope_theory:.2f}",
    fontsize=10,
)
plt.show()

# %%
# The claim, decided by the site's rule:
stats.claim(
    "At initialisation the effective width grows about like the square root of depth: the "
    "fitted exponent lies between 0.35 and 0.65, well below the theoretical field's "
    f"{slope_theory:.2f}",
    slopes,
    above=0.35,
    below=0.65,
)

# %%
# After training
# --------------
# Luo et al. report that training widens the effective field. For that, one unit must have to
# use its field: with global average pooling at the end (as above) the class is an average over
# every position and no unit needs to integrate the digit. So the trained networks here are
# classified from the centre unit of their last map alone
# (:class:`layerwise.readout.CentreUnitCNNConfig`): a stack of six 3x3 convolutions with batch
# normalisation and no pooling, whose centre unit sees 13x13 pixels, on scikit-learn's digits at
# 12x12 -- the whole digit. Each network is trained to convergence, and its effective field on
# test digits is compared with that of the same network's initial weights
# (:func:`layerwise.train.untrained`), seed by seed.
digits = data.digits(size=12)
test_inputs = digits.x_test[: runtime.pick(quick=16, default=128, full=256)]
deep = readout.CentreUnitCNNConfig(in_channels=1, num_classes=10, depth=6, width=12)
schedule = train.Schedule(epochs=runtime.pick(quick=2, default=10, full=30), lr=1e-2)
seeds = runtime.seeds(10)  # the effect is small next to the spread over seeds: ten
results = train.fit_seeds(deep, digits, schedule, seeds, verbose=False)
accuracy = stats.Runs([r.test_accuracy for r in results], seeds)
before, after = {}, {}
for s, result in zip(seeds, results, strict=True):
    before[s] = receptive.effective_receptive_field(
        train.untrained(deep, s, device="cpu"), f"relu{deep.depth}", 12, inputs=test_inputs
    )
    after[s] = receptive.effective_receptive_field(
        result.model.cpu(), f"relu{deep.depth}", 12, inputs=test_inputs
    )
width_before = stats.Runs([np.mean(before[s].std) for s in seeds], seeds)
width_after = stats.Runs([np.mean(after[s].std) for s in seeds], seeds)
growth = stats.paired(width_after, width_before)
print(f"test accuracy of the centre unit's read-out: {accuracy}")
print(f"effective width at initialisation: {width_before} px")
print(f"effective width trained: {width_after} px")
print(f"trained minus initial (paired): {growth} px; theoretical field {deep.field} px")

# %%
# The mean maps over seeds, on one colour scale for both, with the centre unit's 13x13
# theoretical field outlined. The digit is 12 pixels wide, so the centre unit sits at row and
# column 5 and its field reaches one row and column of zero padding at the top and left.
maps = {
    "initialisation": torch.stack([before[s].map for s in seeds]).mean(0),
    "trained": torch.stack([after[s].map for s in seeds]).mean(0),
}
top = float(max(m.max() for m in maps.values()))
fig, axes = plt.subplots(
    1, 3, figsize=(10, 3.6), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 1.1]}
)
for ax, (label, m), mean_width in zip(
    axes, maps.items(), (width_before.mean, width_after.mean), strict=False
):
    image = plot.field_map(
        ax,
        m,
        before[seeds[0]].unit,
        deep.field,
        color="cyan",
        lw=1.5,
        cmap="magma",
        vmin=0,
        vmax=top,
    )
    ax.set(xlim=(-2, 12.5), ylim=(12.5, -2))
    ax.set_title(f"{label}: width {mean_width:.2f} px", fontsize=9)
fig.colorbar(image, ax=axes[:2], shrink=0.8, label="share of the input gradient")
plot.paired_runs(
    axes[2], width_before, width_after, labels=("initialisation", "trained"), colors=("0.4", "C3")
)
axes[2].set_ylabel("effective width (px)")
axes[2].set_title(f"Paired over {len(seeds)} seeds: {growth.mean:+.2f} px", fontsize=9)
fig.suptitle("Effective field of the centre unit on test digits (dashed: theoretical field)")
plt.show()

# %%
# The two claims, each decided by the site's rule:
stats.claim(
    "The centre unit's read-out is trained to convergence: test accuracy above 95 %",
    accuracy,
    above=0.95,
)
stats.claim(
    "Training widens the centre unit's effective receptive field (trained minus initial width)",
    growth,
    above=0.0,
    unit="px",
)

# %%
# What it shows
# -------------
# At initialisation the effective field is a blurred blob in the middle of the theoretical
# square, and it widens about like the square root of the depth (fitted exponent between 0.35
# and 0.65) while the square widens almost like the depth, so a deep unit leans on the centre
# of its field and barely on the border :cite:`luo2016understanding`. When one unit must
# classify the digit from its field alone, and is trained until it does so on more than 95 % of
# the test digits, its effective field is wider than the same network's at initialisation, as
# Luo et al. found: the trained unit draws on more of the pixels away from the centre. The
# change is small next to the theoretical field (the measured widths are printed above): most
# of the influence still comes from the middle of the field.
