"""
What excites a unit: the patches that make it fire
==================================================

A first-layer filter can be looked at directly, because it lives in pixel space. A unit in
layer 2 or 3 cannot: its weights mix the previous layer's channels. The simplest way to see
what it responds to is to run the network over many images and collect the inputs where it
fires most :cite:`zeiler2014visualizing`. Because a unit only sees part of the image -- its
*receptive field*, which grows with depth -- we crop each example to exactly that part.
"""

# %%
# The network
# -----------
# The photo-patch network of :ref:`sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py`
# (same data, configuration and seed, so it comes from the model cache).
import matplotlib.pyplot as plt
import torch

from layerwise import data, features, receptive, runtime, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
model = recipe.fit(seed=0).model.cpu()

# %%
# Where deeper channels fire on a photograph
# ------------------------------------------
# First the view the previous chapter stopped at: the feature maps of layers 2 and 3 on a whole
# photograph, next to it. For a few channels of each layer we show where on the astronaut
# photograph the channel responds (bright = strong), at the map's own resolution. The
# photograph is used at its own resolution, the scale the network was trained at. We pick the
# channels whose response varies most across the photograph.
photo = torch.from_numpy(data.photo("astronaut")).permute(2, 0, 1)[None].float() / 255.0
maps = features.extract(model, patches.normalize(photo), ["relu2", "relu3"])
n_show = 5
fig, axes = plt.subplots(2, n_show + 1, figsize=(11, 4.4), layout="constrained")
for row, name in zip(axes, ["relu2", "relu3"], strict=True):
    m = maps[name][0]
    varied = m.flatten(1).std(1).argsort(descending=True)[:n_show]
    row[0].imshow(photo[0].permute(1, 2, 0).numpy())
    row[0].set_title(f"{name}: {m.shape[1]}x{m.shape[2]} maps", fontsize=9)
    for ax, c in zip(row[1:], varied.tolist(), strict=True):
        ax.imshow(m[c].numpy(), cmap="magma")
        ax.set_title(f"{name}, channel {c}", fontsize=9)
    for ax in row:
        ax.set_axis_off()
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
# :func:`layerwise.features.crop` cuts out that unit's receptive field (grey where the field
# reaches past the patch). A layer-3 unit sees more than a 32x32 training patch, so we search
# 64x64 crops of the same photographs (standardised like the training patches). Channels are
# the ones with the strongest peaks.
k = 8
n_channels = runtime.pick(quick=3, default=5, full=8)
large = data.photo_patches(size=64, n_train=runtime.pick(quick=600, default=3000, full=12000))
pool = patches.normalize(large.denormalize(large.x_train))
rows = []
for name in layers:
    width = getattr(model, f"conv{name[-1]}").out_channels
    top = features.top_activations(model, pool, name, k=k)
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
        rows.append((name, c, patches.denormalize(cut).permute(0, 2, 3, 1).numpy()))
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
# What it shows
# -------------
# In the first layer the top patches of a channel share a simple feature that fits in a few
# pixels: an edge at one orientation or one colour. In layers 2 and 3 each unit sees a bigger
# window and its top patches share a larger arrangement -- a texture, a stripe pattern, a
# boundary between two regions, a bright corner, small bright spots on black. Some rows repeat
# nearly the same crop: the training patches are overlapping crops of only twelve photographs,
# so the best-matching spot of a photograph appears in several of them. This is the evidence
# behind the familiar "edges, then textures and parts" picture :cite:`zeiler2014visualizing`,
# at the scale of a small network trained on twelve photographs; later pages measure it
# instead of looking at it.
