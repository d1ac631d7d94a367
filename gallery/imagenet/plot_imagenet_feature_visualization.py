"""
What each stage of an ImageNet network responds to
===================================================

The textbook picture of a trained network, edges and colours first, then textures and
patterns, then parts of objects, comes from images *made* to excite its units: start from noise
and follow the gradient of a unit's :term:`activation` with respect to the pixels, regularised
so that the result is readable :cite:`olah2017feature`. This page makes such images for units
of four stages of EfficientNet-Lite0, with :mod:`layerwise.optvis` unchanged from
:ref:`sphx_glr_auto_examples_what_layers_learn_plot_feature_visualization.py`, and puts next to
each the crops of the bundled photographs that excite the same unit most. Then it measures
what the pictures suggest: do the made images beat every photograph at exciting their unit, do
their patterns grow with depth, and what changes from stage to stage if not their size?

:Predict first: An image made to excite one unit: does it beat every real photograph at that, and
   does its pattern get larger, or only more structured, in later stages?
"""

# %%
# The network, the units and the photographs
# -------------------------------------------
# Four stages, from the stem (a 3x3 convolution) to stage 6 (the last stage with a wide window;
# see :ref:`sphx_glr_auto_examples_imagenet_plot_imagenet_first_layer.py`). Each stage's units
# are its output channels; we visualise a fixed, evenly spaced sample of its *live* units: of its
# ``L`` live units, number ``floor((i+1/2)L/k)`` for ``i = 0 .. k-1``. The evenly spaced rule was
# fixed before anything was rendered, so the sample shows what a typical unit of the stage does,
# not the prettiest one; the restriction to live units was added when the rule first drew a dead
# stem unit. A unit is live when its activation varies over the photographs (standard deviation
# above 0.001): some stem filters are dead (see the first-layer page) and pass on a constant
# whatever the image, which leaves nothing to visualise. The stem's objective is its output
# *before* the ReLU6 (after batch normalisation): after it, a unit silent on the grey starting
# image has no gradient. The stages end in a linear projection, so their outputs need no such
# care.
#
# The photographs are the twelve bundled with scikit-learn and scikit-image
# (:data:`layerwise.data.PHOTOS`), each resized so its short side is one, two and four times
# the render size, and cut into non-overlapping crops of the render size: the whole photograph,
# objects, and details.
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from layerwise import data, features, imagenet, optvis, plot, receptive, runtime, stats

# sphinx_gallery_thumbnail_number = 1
size = runtime.pick(quick=32, default=96, full=160)  # render and crop side, pixels
steps = runtime.pick(quick=8, default=96, full=512)
k = runtime.pick(quick=2, default=4, full=8)  # units per stage
shown = ("stem", "stage2", "stage4", "stage6")
layer = {"stem": "stem.bn"} | {s: s for s in shown[1:]}

model = imagenet.pretrained()
fields = receptive.receptive_field(model, size)  # the window of one unit, per layer
device = runtime.device()  # the full profile runs on a GPU where there is one
model = model.to(device)
channels = {s: model.get_submodule(layer[s]).num_features for s in shown[:1]} | {
    s: getattr(model, s)[-1].project_bn.num_features for s in shown[1:]
}


def to_network(pixels):
    """Pixels in [0, 1] -> the network's input scaling, ``(x - 127) / 128``."""
    return (pixels * 255 - 127) / 128


photos, crops = [], []  # which photograph each crop comes from, and the crops (N, 3, s, s)
for name in data.PHOTOS:
    img = Image.fromarray(data.photo(name))
    for m in (1, 2, 4):
        scale = m * size / min(img.size)
        w, h = round(img.width * scale), round(img.height * scale)
        a = torch.from_numpy(np.asarray(img.resize((w, h), Image.BICUBIC)).copy())
        a = a.permute(2, 0, 1).float() / 255
        for top in range(0, h - size + 1, size):
            for left in range(0, w - size + 1, size):
                crops.append(a[:, top : top + size, left : left + size])
                photos.append(name)
crops = torch.stack(crops)
print(f"{len(crops)} crops of {size}x{size} pixels from {len(data.PHOTOS)} photographs")


def trunk(net, stages):
    """The network up to the deepest of ``stages`` (the same modules, so the same weights)."""
    deepest = max(imagenet.STAGES.index(s) for s in stages)
    return torch.nn.Sequential(*(getattr(net, name) for name in imagenet.STAGES[: deepest + 1]))


@torch.no_grad()
def unit_means(net, images, stages=shown):
    """Each image's activation of every unit of ``stages``, averaged over positions.

    Returns a dict from stage to an (images, units) tensor. The network runs only as far as the
    deepest of ``stages`` (:func:`layerwise.features.layer_outputs` stops there).
    """
    outputs = features.layer_outputs(net.eval(), [layer[s] for s in stages])
    out = {s: [] for s in stages}
    for i in range(0, len(images), 128):
        got = outputs(to_network(images[i : i + 128]).to(device))
        for s in stages:
            out[s].append(got[layer[s]].mean((2, 3)).cpu())
    return {s: torch.cat(v) for s, v in out.items()}


all_units = unit_means(model, crops)  # stage -> (crops, channels)
live = {s: torch.nonzero(v.std(0) > 1e-3).flatten().tolist() for s, v in all_units.items()}
units = {s: [live[s][int((i + 0.5) * len(live[s]) / k)] for i in range(k)] for s in shown}
on_crops = {s: all_units[s][:, units[s]] for s in shown}  # (crops, k)
for s in shown:
    print(f"{s:>7s}: {len(live[s])} of {channels[s]} units live; visualised: {units[s]}")

# %%
# The renders
# -----------
# The recipe of the earlier page, with the transforms of lucent's standard set scaled to the
# image: a Fourier-space image with decorrelated colours, seen through padding, two jitters,
# a random scale and a random rotation at every step, and Adam on the image. All ``k`` units
# of a stage are rendered together, one image each, and the forward pass stops at the stage
# (:func:`~layerwise.optvis.render` ends it once the objective's layers have their output).
# Renders are kept in the model cache (:func:`layerwise.optvis.cached`), keyed by the
# network's weights, the settings below and the code, so a rebuild loads them.
recipe = {
    "size": size,
    "steps": steps,
    "lr": 0.05,
    "pad": size // 8,
    "jitter": size // 12,
    "scales": [1 + (i - 5) / 50 for i in range(11)],
    "degrees": [*range(-10, 11), 0, 0, 0, 0, 0],
    "jitter_after": max(1, size // 24),
    "decorrelate": True,
    "seed": 0,
}
transform = optvis.compose(
    [
        optvis.pad(recipe["pad"]),
        optvis.jitter(recipe["jitter"]),
        optvis.random_scale(recipe["scales"]),
        optvis.random_rotate(recipe["degrees"]),
        optvis.jitter(recipe["jitter_after"]),
    ]
)


def visualise(net, stage, chosen):
    """Render ``chosen`` units of ``stage`` of ``net`` together, one image each (cached)."""

    def compute():
        runtime.progress(f"rendering {len(chosen)} units of {stage}")
        objective = sum(
            (optvis.channel(layer[stage], c, batch=i) for i, c in enumerate(chosen[1:], 1)),
            start=optvis.channel(layer[stage], chosen[0], batch=0),
        )
        g = torch.Generator().manual_seed(recipe["seed"])
        image = optvis.fourier_image(
            (len(chosen), 3, size, size), decorrelate=recipe["decorrelate"], generator=g
        )
        return optvis.render(
            net,
            objective,
            image,
            transform=transform,
            preprocess=to_network,
            steps=steps,
            lr=recipe["lr"],
            seed=recipe["seed"],
        )

    key = recipe | {"page": "imagenet feature visualisation", "layer": layer[stage]}
    return optvis.cached(key | {"units": list(chosen)}, compute, model=net).images


renders = {s: visualise(model, s, units[s]) for s in shown}

# %%
# Renders and the photographs that excite the same unit
# -----------------------------------------------------
# For each unit, its render (large) and, below it, the crops of the three photographs that
# excite it most (the best crop of each, best photograph first; the number is the unit's mean
# activation on it, for comparison with the render's in the title).
reached = {s: unit_means(model, renders[s], [s])[s][:, units[s]].diagonal() for s in shown}


def top_crops(stage, j, n=3):
    """Indices of the best crop of each of the ``n`` photographs that excite unit j most."""
    picked, seen = [], set()
    for i in on_crops[stage][:, j].argsort(descending=True).tolist():
        if photos[i] not in seen:
            picked.append(i)
            seen.add(photos[i])
        if len(picked) == n:
            break
    return picked


best = {s: [top_crops(s, j) for j in range(k)] for s in shown}
fig = plot.image_rows(
    [[plot.to_image(r) for r in renders[s]] for s in shown],
    titles=[[f"unit {c}: {reached[s][j]:.1f}" for j, c in enumerate(units[s])] for s in shown],
    row_titles=[
        f"{s} ({len(live[s])} live units; one unit sees {fields[layer[s]].size[0]} px of a "
        f"{size} px image)"
        for s in shown
    ],
    examples=[[[plot.to_image(crops[i]) for i in best[s][j]] for j in range(k)] for s in shown],
    example_titles=[
        [[f"{on_crops[s][i, j]:.1f}" for i in best[s][j]] for j in range(k)] for s in shown
    ],
    figsize=(max(1.6 * k + 0.4, 6), 2.55 * len(shown)),
)
fig.suptitle(
    f"Images made to excite {k} evenly spaced units of each stage (large) and the photo crops\n"
    "that excite them most (small); titles: the unit's mean activation",
    fontsize=10,
)
plt.show()

# %%
# The measurements
# ----------------
# Four measurements, each with its null or control. The order in which they were fixed matters
# for what they can show, so it is stated: 1 and 2 were fixed before anything was rendered;
# 3 after 2 had been computed, before 3 itself; 4 after 3, once the untrained networks' renders
# were seen. All four were then run, as they stand here, on a new sample of units (four per
# stage instead of the six first rendered, to save time; mostly other units).
#
# 1. **Do the renders beat the photographs?** For each unit, its activation on its render minus
#    its best activation on any of the crops, in units of its standard deviation over the crops
#    (the "beyond the best patch" score of the earlier page). Claim: above 0, over the ``4 k``
#    units (one value per unit, t interval). The null is the photographs: a unit whose best
#    input is an ordinary photograph, or an optimiser that failed, scores 0 or below.
# 2. **Do the patterns grow with depth?** The *typical wavelength* of a render: the inverse of
#    its power-weighted mean spatial frequency, in pixels (mean removed per colour channel, the
#    three channels' power summed; the Fourier parameterisation makes renders periodic, so the
#    spectrum has no edge artefacts). Planned claims: longer in stage 6 than in the stem, and
#    longer in the trained network's stage 6 than in untrained networks'. The control is
#    five untrained copies of the network: random weights, batch-norm statistics set on 64 of
#    the crops (:func:`layerwise.imagenet.untrained` with ``calibrate``), each rendering one
#    stage-6 unit (unit ``i`` of the sample for seed ``i``) with the same recipe.
# 3. **Does a unit care where things are, or only which colours and frequencies are there?**
#    Scrambling the phases of a render's Fourier transform keeps its colours and its power
#    spectrum (so its typical wavelength too) and destroys its arrangement: edges, shapes,
#    parts. The *arrangement share* of a unit is the part of the activation its render gained
#    over the starting image that scrambling takes away, ``(render - scrambled) / (render -
#    start)``, the scrambled activation averaged over eight scrambles (one random phase field
#    for all three colour channels, so colours stay together). About 0: colour and spectrum
#    are what the unit responds to, as for a colour or a plain texture unit; about 1: only the
#    arrangement excites it. Claim: higher in stage 6 than in the stem (Welch's interval).
# 4. **The untrained control for 1.** The untrained networks' renders gained little or nothing
#    over their starting image (printed below), which leaves their arrangement share undefined.
#    Instead they get score 1, on the 64 crops their batch norm was set on, and so does the
#    trained network's stage 6 on the same crops. Claim: trained above untrained (Welch).


def wavelength(images):
    """Typical wavelength (pixels) of images (N, 3, H, W): 1 / power-weighted mean frequency."""
    x = images - images.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square().sum(1)  # (N, H, W)
    fy = torch.fft.fftfreq(images.shape[-2])[:, None]
    fx = torch.fft.fftfreq(images.shape[-1])[None, :]
    radius = (fy.square() + fx.square()).sqrt()
    mean_frequency = (power * radius).sum((-2, -1)) / power.sum((-2, -1))
    return 1 / mean_frequency


def scramble(images, generator):
    """The images (N, 3, H, W) with the phases of their spectra shifted at random.

    One random phase field per image, shared by its colour channels; taken from the spectrum of
    white noise, so it has the symmetry of a real image's, with the mean (zero frequency) kept.
    """
    n, _, h, w = images.shape
    noise = torch.fft.rfft2(torch.randn((n, 1, h, w), generator=generator))
    phase = noise / noise.abs().clamp_min(1e-12)
    phase[..., 0, 0] = 1
    return torch.fft.irfft2(torch.fft.rfft2(images) * phase, s=(h, w)).clamp(0, 1)


def start_images(n):
    """The images every render of ``n`` units starts from (the same seed as the renders)."""
    g = torch.Generator().manual_seed(recipe["seed"])
    shape = (n, 3, size, size)
    return optvis.fourier_image(shape, decorrelate=recipe["decorrelate"], generator=g)().detach()


def activations(net, stage, chosen, images, n_scrambles=8):
    """Unit i's activation on render i, on the start image and on its scrambles (mean)."""
    g = torch.Generator().manual_seed(0)
    n = len(chosen)
    batch = torch.cat(
        [images, start_images(n), *(scramble(images, g) for _ in range(n_scrambles))]
    )
    out = unit_means(net, batch, [stage])[stage][:, chosen].view(-1, n, n).diagonal(0, 1, 2)
    return out[0], out[1], out[2:].mean(0)  # render, start, scrambled


def beyond_best(on_render, on_photos):
    """(render - best crop) / sd over crops, per unit; on_photos is (crops, units)."""
    return ((on_render - on_photos.max(0).values) / on_photos.std(0)).tolist()


beyond, shares = {}, {}
for s in shown:
    render, start, scrambled = activations(model, s, units[s], renders[s])
    beyond[s] = beyond_best(render, on_crops[s])
    shares[s] = ((render - scrambled) / (render - start)).tolist()

sample = torch.arange(0, len(crops), len(crops) // 64)[:64]  # the control's 64 crops
seeds = runtime.seeds(5)
controls, control_beyond = {}, []
for seed in seeds:
    unit = units["stage6"][seed % k]
    net = imagenet.untrained(seed).to(device)
    imagenet.calibrate_batchnorm(trunk(net, ["stage6"]), to_network(crops[sample]).to(device))
    controls[seed] = visualise(net, "stage6", [unit])
    render, start, _ = activations(net, "stage6", [unit], controls[seed], n_scrambles=0)
    on_sample = unit_means(net, crops[sample], ["stage6"])["stage6"][:, [unit]]
    control_beyond += beyond_best(render, on_sample)
    print(
        f"untrained seed {seed}, stage-6 unit {unit}: start {start.item():.2f}, render "
        f"{render.item():.2f}; on the 64 crops: best {on_sample.max():.2f}, "
        f"sd {on_sample.std():.2f}"
    )
controls = torch.cat([controls[s] for s in seeds])
trained_on_sample = beyond_best(reached["stage6"], on_crops["stage6"][sample])

lengths = {s: wavelength(renders[s]).tolist() for s in shown}
lengths["stage6, untrained"] = wavelength(controls).tolist()
for s in shown:
    print(
        f"{s:>7s}: render minus best crop {stats.Runs(beyond[s])} sd; typical wavelength "
        f"{stats.Runs(lengths[s])} px; arrangement share {stats.Runs(shares[s])}"
    )
print(f"stage6, untrained: typical wavelength {stats.Runs(lengths['stage6, untrained'])} px")
print(
    f"stage 6, best of the control's 64 crops: trained {stats.Runs(trained_on_sample)} sd, "
    f"untrained {stats.Runs(control_beyond)} sd"
)
growth = stats.unpaired(lengths["stage6"], lengths["stem"])
trained_vs_untrained = stats.unpaired(lengths["stage6"], lengths["stage6, untrained"])
print(f"typical wavelength, stage 6 minus stem: {growth} px")
print(f"typical wavelength, stage 6 trained minus untrained: {trained_vs_untrained} px")

# %%
# Stage 6 up close: the trained network's renders (top), a phase-scrambled copy of each
# (middle: the same colours and spectrum, no arrangement), and the untrained networks' renders
# (bottom, one unit of each network).
scrambled = scramble(renders["stage6"], torch.Generator().manual_seed(1))
trained = range(len(units["stage6"]))
fig = plot.image_rows(
    [
        [plot.to_image(renders["stage6"][j]) for j in trained],
        [plot.to_image(scrambled[j]) for j in trained],
        [plot.to_image(controls[j]) for j in range(len(seeds))],
    ],
    titles=[
        [f"trained, unit {c}" for c in units["stage6"]],
        [f"scrambled (share {shares['stage6'][j]:.2f})" for j in trained],
        [f"untrained {seed}, unit {units['stage6'][seed % k]}" for seed in seeds],
    ],
    figsize=(1.6 * max(k, len(seeds)), 6.0),
)
fig.suptitle("Stage 6: renders, their phase-scrambled copies, and untrained networks' renders")
plt.show()

# %%
# The measurements, unit by unit (dots) with their means and 95 % intervals:
fig, axes = plt.subplots(1, 3, figsize=(12, 3.9), layout="constrained")
rng = np.random.default_rng(0)
beyond_with_control = {**beyond, "stage6, untrained": control_beyond}
panels = (
    (
        beyond_with_control,
        "render minus best crop\n(sd of the unit over crops)",
        "1. Beyond every photograph",
    ),
    (lengths, "typical wavelength (px)", f"2. Size of the patterns ({size} px renders)"),
    (shares, "arrangement share", "3. What scrambling the phases takes away"),
)
for ax, (values, ylabel, title) in zip(axes, panels, strict=True):
    groups = {s: values[s] for s in (*shown, "stage6, untrained") if s in values}
    plot.group_dots(ax, groups, controls=["stage6, untrained"], rng=rng)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
axes[0].axhline(0, color="k", lw=0.8, ls=":")
axes[2].axhline(0, color="k", lw=0.8, ls=":")
axes[1].set_ylim(bottom=0)
axes[0].text(4, 1, "best of\n64 crops", ha="center", va="bottom", fontsize=7, color="0.3")
axes[0].scatter([], [], color="C0", s=14, label="trained network, one dot per unit")
axes[0].scatter([], [], color="0.55", s=14, label="untrained networks, one unit each")
axes[0].errorbar([], [], [], fmt="o", color="k", capsize=3, label="mean, 95 % interval")
fig.legend(loc="outside lower center", ncols=3, fontsize=8)
plt.show()

# %%
# Claims
# ------
stats.claim(
    f"A render drives its unit beyond the best of {len(crops)} photo crops of its size (render "
    "minus best crop, in sd of the unit over crops, over the units of four stages)",
    stats.Runs([v for s in shown for v in beyond[s]]),
    above=0,
)
stats.claim(
    "Stage 6's units depend on the arrangement of their render more than the stem's "
    "(arrangement share, stage 6 minus stem)",
    stats.unpaired(shares["stage6"], shares["stem"]),
    above=0,
)
stats.claim(
    "For untrained networks the same recipe finds no such image: stage 6's renders beat the "
    "best of 64 crops by more in the trained network than in untrained ones (sd of the unit "
    "over those crops, trained minus untrained)",
    stats.unpaired(trained_on_sample, control_beyond),
    above=0,
)

# %%
# What it shows
# -------------
# The pictures follow the textbook. The stem's units, which see 3x3 pixels, want a colour: their
# renders are flat fields of blue, cyan, dark green or pale pink, and for them a photograph does
# as well as a made image (render minus best crop about 0 for the stem). Stage 2's units want
# oriented stripes and fine repeated grain, and find it in brick, fur and gravel. Stage 4's want
# patterns: spots with eyes, meshes, waves. Stage 6's renders hold parts: eyes, fur, snouts, rows
# of scales, and the crops that excite those units most show a cat's face, a pagoda's roof, a man.
# In stages 4 and 6 the made images excite their unit far beyond every photograph (by about ten
# standard deviations of the unit over the crops), in stage 2 by less (printed above); over all
# sixteen units, the stem's included, they beat the best crop on average (the first claim).
#
# What grows with depth is not the size of the patterns. Their typical wavelength stays at 6-10
# pixels in every stage, and a stage-6 unit's 787-pixel window does not lengthen it (stage 6 minus
# stem, printed above, has an interval that includes 0), so the two claims planned on it were
# dropped. What grows is how much the arrangement matters. Scrambling the phases of a render,
# which keeps its colours and spectrum, leaves a stem unit's response almost whole (arrangement
# share about 0.04), takes a third of a stage-2 unit's, most of a stage-4 unit's and all of a
# stage-6 unit's (about 0.96; the second claim). Early units respond to what is in the image,
# colours and frequencies; late units to how it is put together.
#
# Training is what makes such images exist. With random weights, the same recipe finds nothing for
# a stage-6 unit: its renders end barely above their grey start or below it, and every one below
# the best photo crop, while the trained network's renders beat that crop by about ten standard
# deviations (the third claim). The recipe asks for an image that excites the unit through random
# shifts, scalings and rotations: a trained stage-6 unit has such images, the untrained ones do
# not, so what these renders show is what training put there.
