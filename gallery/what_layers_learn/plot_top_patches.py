"""
What excites a unit: the patches that make it fire
==================================================

A first-layer :term:`filter` can be looked at directly, because it lives in pixel space. A unit in
layer 2 or 3 cannot: its weights mix the previous layer's :term:`channels <channel>`. The simplest
way to see what it responds to is to run the network over many images and collect the inputs where
it fires most :cite:`zeiler2014visualizing`. Because a unit only sees part of the image -- its
*receptive field*, which grows with depth -- we crop each example to exactly that part.

:Predict first: Are the patches that excite a deep unit most any more specific after training
   than with random weights?
"""

# %%
# The network
# -----------
# The photo-patch network of :ref:`sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py`
# (same data, configuration and seed, so it comes from the :term:`model cache`).
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, features, plot, receptive, runtime, stats, train, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
model = recipe.fit(seed=0).model.cpu()

# %%
# Where deeper channels fire on a photograph
# ------------------------------------------
# First the view the previous chapter stopped at: the :term:`feature maps <feature map>` of layers
# 2 and 3 on a whole photograph, next to it. For a few channels of each layer we show where on the
# astronaut photograph the channel responds (bright = strong), at the map's own resolution. The
# photograph is used at its own resolution, the scale the network was trained at. We pick the
# channels whose response varies most across the photograph.
photo = data.photo_tensor("astronaut")[None]
maps = features.extract(model, patches.normalize(photo), ["relu2", "relu3"])
n_show = 5
shown = {}  # layer -> its maps and the n_show channels whose response varies most
for name in ["relu2", "relu3"]:
    m = maps[name][0]
    shown[name] = m, m.flatten(1).std(1).argsort(descending=True)[:n_show].tolist()
fig = plot.image_rows(
    [[plot.to_image(photo[0])] + [m[c].numpy() for c in top] for m, top in shown.values()],
    titles=[["the photograph"] + [f"channel {c}" for c in top] for _, top in shown.values()],
    row_titles=[f"{name}: {m.shape[1]}x{m.shape[2]} maps" for name, (m, _) in shown.items()],
    cmap="magma",
    figsize=(11, 4.6),
)
fig.suptitle("Where single layer-2 and layer-3 channels respond on a photograph")
plt.show()

# %%
# These maps say *where* a channel fires, but not *what* it fires on. For that we need many
# examples of what it responds to, at the scale the unit sees.
#
# Receptive fields
# ----------------
# :func:`layerwise.receptive.receptive_field` computes, from the architecture, which input
# pixels every unit of every layer can see.
layers = ["relu1", "relu2", "relu3"]
fields = receptive.receptive_field(model, (64, 64))
for name in layers:
    f = fields[name]
    print(f"{name}: sees {f.size[0]}x{f.size[1]} input pixels, units {f.stride[0]} pixels apart")

# %%
# Top patches
# -----------
# For several channels of each layer, :func:`layerwise.features.top_activations` finds the
# patches where the channel's peak response is largest, and where in the patch the peak is.
# :func:`layerwise.features.crop` cuts out that unit's :term:`receptive field` (grey where the
# field reaches past the patch). A layer-3 unit sees more than a 32x32 training patch, so we search
# 64x64 crops of the same photographs (standardised like the training patches). Channels are the
# ones with the strongest peaks.
k = 8
n_channels = runtime.pick(quick=3, default=5, full=8)
large = data.photo_patches(size=64, n_train=runtime.pick(quick=600, default=3000, full=12000))
pool = patches.normalize(large.denormalize(large.x_train))
rows = []
tops = features.top_activations_of_layers(model, pool, layers, k=k)  # one pass for all layers
for name in layers:
    width = getattr(model, f"conv{name[-1]}").out_channels
    top = tops[name]
    chosen = top.value[:, 0].argsort(descending=True)[:n_channels]
    f = fields[name]
    for c in chosen.tolist():
        boxes = [f.box(int(r), int(q)) for r, q in zip(top.row[c], top.col[c], strict=True)]
        cut = features.crop(
            pool[top.image[c]],
            torch.tensor([b[0] for b in boxes]),
            torch.tensor([b[1] for b in boxes]),
            f.size[0],
        )
        rows.append((name, c, plot.to_image(cut, patches)))
    print(
        f"{name}: {width} channels; peak of the strongest shown channel {top.value.max():.2f}, "
        f"median over channels of the top peak {top.value[:, 0].median():.2f}"
    )

# %%
# One row per channel, its eight top patches left to right, one block per layer. Each crop is
# exactly what one unit sees, drawn at the same size on the page, so a layer-1 crop is a few
# coarse pixels and a layer-3 crop a whole region of a photograph.
fig = plt.figure(figsize=(11, 0.9 + 0.47 * n_channels), layout="constrained")
groups = fig.subfigures(1, len(layers), wspace=0.03)
for group, name in zip(groups, layers, strict=True):
    mine = [r for r in rows if r[0] == name]
    axes = group.subplots(len(mine), k, squeeze=False, gridspec_kw={"wspace": 0.05})
    for (_, c, imgs), row in zip(mine, axes, strict=True):
        for img, ax in zip(imgs, row, strict=True):
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"ch. {c}", fontsize=7)
    size = fields[name].size[0]
    group.suptitle(f"{name}: {size}x{size}-pixel crops", fontsize=10)
fig.suptitle("Photo crops that excite single channels most, cut to what the unit sees")
plt.show()

# %%
# Would random weights do the same?
# ---------------------------------
# Any channel has *some* top patches, and they always share something: the channel's filter
# picks them. The pictures say nothing about training until they are compared with the same
# architecture before training. One number per layer: how much a channel's top patches come
# from a single photograph -- the share of its ``k`` top crops cut from its most frequent
# photograph, averaged over every channel. It is measured on the trained networks of five
# seeds (the first chapter trains them; they come from the model cache) and on the same five
# seeds' initial weights (:func:`layerwise.train.untrained`), so the comparison is paired by
# seed. A channel that responds to what one photograph is made of scores high; one that
# responds to a pattern found everywhere scores low. The null: the same share with the crops'
# photographs shuffled. The bars give the mean over seeds and its 95 % interval.
seeds = runtime.seeds(5)
trained = [recipe.fit(seed=s, verbose=False).model.cpu().eval() for s in seeds]
untrained = [train.untrained(recipe.config, s, device="cpu") for s in seeds]
sample = pool[:: runtime.pick(quick=1, default=2, full=1)]  # every other crop, all photographs
photo_of = large.y_train[:: runtime.pick(quick=1, default=2, full=1)]


def purity(net):
    """Layer -> mean over channels of the share of the top-k crops from the channel's modal
    photograph (one pass through the network for all layers)."""
    out = {}
    peaks = features.extract(net, sample, layers, reduce=lambda a: a.amax(dim=(2, 3)))
    for name, a in peaks.items():
        top = a.topk(k, dim=0).indices.T  # (channels, k) crop indices
        counts = torch.nn.functional.one_hot(photo_of[top], patches.num_classes).sum(1)
        out[name] = counts.amax(1).float().mean().item() / k
    return out


def runs(nets):
    measured = [purity(net) for net in nets]
    return {name: stats.Runs([m[name] for m in measured], seeds) for name in layers}


trained_purity = runs(trained)
untrained_purity = runs(untrained)
shuffled = photo_of[torch.randperm(len(photo_of), generator=torch.Generator().manual_seed(0))]
null = torch.nn.functional.one_hot(
    shuffled[: (len(shuffled) // k) * k].view(-1, k), patches.num_classes
)
null = null.sum(1).amax(1).float().mean().item() / k
for name in layers:
    print(
        f"{name}: trained {trained_purity[name]}, untrained {untrained_purity[name]}; "
        f"shuffled photographs {null:.3f}"
    )

fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
pos = np.arange(len(layers))
for shift, (label, values, colour) in zip(
    (-0.2, 0.2),
    [("trained", trained_purity, "C0"), ("untrained", untrained_purity, "grey")],
    strict=True,
):
    measured = [values[n] for n in layers]
    plot.bar(ax, pos + shift, measured, 0.4, color=colour, label=f"{label} ({len(seeds)} seeds)")
ax.axhline(null, color="k", ls=":", label="photographs shuffled")
ax.set_xticks(pos, layers)
ax.set_ylim(0, 1.2)
ax.set_yticks(np.linspace(0, 1, 6))
ax.set_ylabel(f"share of the top {k} crops\nfrom one photograph")
ax.legend(fontsize=8, loc="upper center", ncols=3)
ax.set_title("How photograph-specific are a channel's top patches?")
plt.show()

# %%
# Each trained network against its own initial weights, per layer, and what random weights
# already have over the shuffled null (the photographs drawn at random, one number):
difference = {name: stats.paired(trained_purity[name], untrained_purity[name]) for name in layers}
over_chance = {
    name: stats.Runs(np.subtract(untrained_purity[name].values, null), seeds) for name in layers
}
for name in layers:
    print(
        f"{name}: trained minus untrained {difference[name]}; "
        f"untrained minus shuffled {over_chance[name]}"
    )
stats.claim(
    "Before training, layer-3 channels' top patches already come from one photograph more "
    "often than chance (share of the top crops from one photograph, untrained minus the same "
    "share with the photographs shuffled)",
    over_chance["relu3"],
    above=0,
)
stats.claim(
    "Training adds less to layer 3's photograph-specificity than random weights already have "
    "over chance (trained minus the same seed untrained, against untrained minus shuffled)",
    difference["relu3"],
    below=round(over_chance["relu3"].mean, 3),  # the threshold as the page prints it
)

# %%
# What it shows
# -------------
# In the first layer the top patches of a channel share a simple feature that fits in a few
# pixels: an edge at one orientation or one colour. In layers 2 and 3 each unit sees a bigger
# window and its top patches share a larger arrangement -- a texture, a stripe pattern, a
# boundary between two regions, a bright corner, small bright spots on black. Some rows repeat
# nearly the same crop: the training patches are overlapping crops of only twelve photographs,
# so the best-matching spot of a photograph appears in several of them.
#
# Random weights also give every channel a coherent set of top patches, and in layer 3 they
# come from a single photograph far more often than the shuffled null (the first claim): a
# channel's filter picks what one photograph is made of whether it was trained or not. Training
# adds to that in layer 3 less than random weights already have over chance (the second claim,
# with the paired difference). In layer 1 the difference is larger (printed above): trained
# channels respond to the colours and edges of particular photographs. So more than half of
# what sets a trained layer-3 channel's top patches apart from chance is there before training,
# and the pictures are evidence for the familiar "edges, then textures and parts" picture
# :cite:`zeiler2014visualizing` only when set against the same network untrained, at the scale
# of a small network trained on twelve photographs.
