"""
What excites a unit: images optimised to make it fire
=====================================================

Instead of searching a dataset for the inputs a unit likes, we can *make* one: start from a
grey image and follow the gradient of the unit's activation with respect to the pixels. Done
naively, this produces high-frequency patterns that excite the unit but look like nothing.
Olah, Mordvintsev and Schubert :cite:`olah2017feature` showed what makes the images readable:
optimise through small random jitters, scalings and rotations, and in a decorrelated,
frequency-scaled parameterisation of the image. This page does both, for the same units, with
:mod:`layerwise.optvis`.

:Predict first: Can a synthetic image excite a unit more than any real photo patch does?
"""

# %%
# The network
# -----------
# The photo-patch network of :ref:`sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py`
# (from the :term:`model cache`).
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, features, optvis, plot, runtime, stats, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
model = recipe.fit(seed=0).model.cpu()

# %%
# Two recipes
# -----------
# Both maximise the mean activation of one :term:`channel` over a 48x48 image, with the same number
# of Adam steps and the same learning rate; four channels of a layer are optimised together, one
# per image of a batch.
#
# * **plain**: one free parameter per pixel (:func:`~layerwise.optvis.pixel_image`), no
#   transforms;
# * **regularised**: a Fourier-space image with decorrelated colours
#   (:func:`~layerwise.optvis.fourier_image`), seen through random padding, jitter, scaling and
#   rotation at every step.
side = runtime.pick(quick=32, default=48, full=64)
steps = runtime.pick(quick=24, default=128, full=1024)
# The objective is a channel's output *before* its ReLU (after batch normalisation): after the
# ReLU, a channel that is silent for the starting image has zero gradient and never moves.
layers = ["bn1", "bn2", "bn3"]
n_channels = 4
regulariser = optvis.compose(
    [
        optvis.pad(4),
        optvis.jitter(4),
        optvis.random_scale([0.9, 0.95, 1.0, 1.05, 1.1]),
        optvis.random_rotate(range(-10, 11)),
        optvis.jitter(2),
    ]
)
# The channels: for each layer, those whose strongest response to real patches is largest.
real = features.extract(model, patches.x_train[::6], layers)
channels = {
    name: real[name].amax(dim=(0, 2, 3)).argsort(descending=True)[:n_channels].tolist()
    for name in layers
}


def visualise(name, regularised, seed=0):
    objective = sum(
        (optvis.channel(name, c, batch=i) for i, c in enumerate(channels[name])),
        start=0 * optvis.channel(name, 0),
    )
    g = torch.Generator().manual_seed(seed)
    shape = (n_channels, 3, side, side)
    image = (
        optvis.fourier_image(shape, generator=g)
        if regularised
        else optvis.pixel_image(shape, generator=g)
    )
    return optvis.render(
        model,
        objective,
        image,
        transform=regulariser if regularised else None,
        preprocess=patches.normalize,
        steps=steps,
        lr=0.05,
        seed=seed,
    )


results = {(n, r): visualise(n, r) for n in layers for r in (False, True)}

# %%
# The activation each image reaches, for its own channel, next to the channel's mean and
# largest activation over real photo patches of the same size:
big = data.photo_patches(
    size=side, n_train=runtime.pick(quick=300, default=1200, full=4000), n_test=12
)
real = features.extract(model, patches.normalize(big.denormalize(big.x_train)), layers)


def reached(name, images):
    out = features.extract(model, patches.normalize(images), [name])[name]
    return [out[i, c].mean().item() for i, c in enumerate(channels[name])]


# Per unit: how far each render drives its channel beyond the best real patch, in units of the
# channel's spread over real patches ((render - best patch) / sd over patches).
beyond = {"plain": [], "regularised": []}
for name in layers:
    print(f"{name}")
    plain, reg = (
        reached(name, results[name, False].images),
        reached(name, results[name, True].images),
    )
    for i, c in enumerate(channels[name]):
        r = real[name][:, c].mean(dim=(1, 2))
        beyond["plain"].append((plain[i] - r.max().item()) / r.std().item())
        beyond["regularised"].append((reg[i] - r.max().item()) / r.std().item())
        print(
            f"  channel {c:3d}: plain {plain[i]:6.2f}, regularised {reg[i]:6.2f}; "
            f"real patches: mean {r.mean():5.2f}, best {r.max():5.2f}"
        )
beyond = {kind: stats.Runs(v) for kind, v in beyond.items()}
for kind, v in beyond.items():
    print(f"{kind} renders beyond the best real patch: {v} sd of the channel over real patches")

# %%
# Same units, two recipes
# -----------------------
# Each column pair is one channel: the plain result on the left, the regularised one on the
# right.
recipes = {False: "plain", True: "regularised"}
fig = plot.image_rows(
    [
        [plot.to_image(results[name, r].images[i]) for i in range(n_channels) for r in recipes]
        for name in layers
    ],
    titles=[
        [f"ch. {c}, {recipes[r]}" for c in channels[name] for r in recipes] for name in layers
    ],
    row_titles=layers,
    figsize=(11, 1.9 * len(layers) + 0.5),
)
fig.suptitle(
    "Gradient ascent on the input, per channel: plain pixel parameterisation (left of each pair) "
    "versus Fourier parameterisation with transforms (right)",
    fontsize=10,
)
plt.show()

# %%
# How noisy is each image?
# ------------------------
# The share of an image's variance carried by the highest spatial frequencies (above half the
# maximum frequency), averaged over the images of a layer. Natural photographs have little
# there.


def high_frequency_share(images):
    x = images - images.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square().sum(1)
    f = torch.fft.fftfreq(images.shape[-1])
    radius = (f[:, None].square() + f[None, :].square()).sqrt()
    return ((power * (radius > 0.25)).sum((-2, -1)) / power.sum((-2, -1))).mean().item()


photo_share = high_frequency_share(
    big.denormalize(big.x_train[:: max(1, len(big.x_train) // 200)])
)
for name in layers:
    plain = high_frequency_share(results[name, False].images)
    regularised = high_frequency_share(results[name, True].images)
    print(f"{name}: high-frequency share plain {plain:.2f}, regularised {regularised:.2f}")
print(f"real photo patches: {photo_share:.2f}")

fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
for j, name in enumerate(layers):
    for kind, regularised in (("plain", False), ("regularised", True)):
        ax.plot(
            np.array(results[name, regularised].history) / n_channels,
            color=f"C{j}",
            ls="-" if regularised else "--",
            label=f"{name}, {kind}",
        )
ax.set_xlabel("Adam step")
ax.set_ylabel("mean target activation\n(during optimisation)")
ax.legend(fontsize=7, ncols=2)
ax.set_title("Both recipes raise the activation; only one gives readable images")
plt.show()

# %%
# Claims
# ------
# Over the twelve units (four channels in each of three layers), paired by unit:
stats.claim(
    "Plain gradient ascent drives a unit beyond the best real photo patch (render minus best "
    "patch, in sd of the unit over patches)",
    beyond["plain"],
    above=0,
)
stats.claim(
    "Regularised renders also drive a unit beyond the best real photo patch (render minus best "
    "patch, in sd of the unit over patches)",
    beyond["regularised"],
    above=0,
)
stats.claim(
    "Plain renders excite their unit more than regularised renders (plain minus regularised, in "
    "sd of the unit over patches)",
    stats.paired(beyond["plain"], beyond["regularised"]),
    above=0,
)

# %%
# What it shows
# -------------
# Plain gradient ascent is *good at its job*: it drives each channel far beyond the best real
# photo patch (the claims above, in units of the channel's spread over real patches), with
# images whose variance sits mostly in the highest frequencies (compare the printed
# high-frequency shares with real patches). For first-layer channels it finds clean period-two
# gratings: with a :term:`stride` of 2, the layer samples every second pixel, and a pattern at
# exactly that period excites it most. Deeper channels get fine checkerboard-like patterns. The
# network responds to such patterns, but they say little a person can read. With the transforms and
# the Fourier parameterisation the activation reached is lower but still beyond the best real
# patch, the high-frequency share is lower than the plain renders' (close to photographs' in the
# first layer, above them deeper), and the images show structure: colour fields for first-layer
# channels, stripes, blobs and repeated textures for deeper ones. What a feature visualisation
# shows is therefore partly a choice of regulariser: patterns the unit responds to *that survive
# jitter and have smoother image statistics*, not the unique input the unit "wants".
