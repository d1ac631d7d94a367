"""
How the receptive field grows with depth
========================================

A 3x3 :term:`filter` sees 3x3 pixels. What does a filter in the next layer see? It looks at a patch
of the first layer's *outputs*, and each of those outputs saw its own 3x3 patch of pixels, so the
patch of pixels it depends on is larger than its own kernel. This page computes that patch -- the
:term:`receptive field` -- with :func:`layerwise.receptive.receptive_field`, draws it, and follows
it through the network used in the first chapter and through a deeper stack on a real photograph.

:Predict first: How fast does the window a unit sees grow as convolution layers are stacked?
"""

# %%
# A 3x3 filter, then a 4x4 filter
# -------------------------------
# Two convolutions, :term:`stride` 1, no padding. :func:`~layerwise.receptive.receptive_field`
# reads the architecture (no weights, no data) and returns, for every layer, the size of the patch
# of input pixels one unit sees, the stride between neighbouring units in input pixels, and where
# the first unit's patch is centred.
import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F
from matplotlib.patches import Rectangle
from torch import nn

from layerwise import data, models, plot, receptive, stats

pair = nn.Sequential(nn.Conv2d(1, 1, kernel_size=3), nn.Conv2d(1, 1, kernel_size=4))
fields = receptive.receptive_field(pair, input_size=(10, 10))
for name, label in [("0", "3x3 layer"), ("1", "4x4 layer")]:
    rf = fields[name]
    print(f"{label}: each unit sees {rf.size[0]}x{rf.size[1]} pixels, map {rf.shape}")

# %%
# The picture: one unit of the second layer (red) reads a 4x4 block of first-layer units; the
# 3x3 patches of the two corner units of that block are drawn in blue and green. Together the
# sixteen patches tile the red square.
unit = (2, 3)
top, left, bottom, right = fields["1"].box(*unit)
fig, ax = plt.subplots(figsize=(4.6, 4.6), layout="constrained")
ax.set_xlim(-0.5, 9.5)
ax.set_ylim(9.5, -0.5)
ax.set_xticks(np.arange(-0.5, 10), minor=True)
ax.set_yticks(np.arange(-0.5, 10), minor=True)
ax.grid(which="minor", color="0.85")
ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
corners = [(top, left), (bottom - 3, right - 3)]
for (t, lf), colour in zip(corners, ["C0", "C2"], strict=True):
    b = fields["0"].box(t, lf)  # first-layer unit (t, lf) sees this 3x3 patch
    ax.add_patch(
        Rectangle((b[1] - 0.5, b[0] - 0.5), 3, 3, fill=True, alpha=0.3, color=colour, lw=0)
    )
ax.add_patch(
    Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, color="C3", lw=3)
)
ax.set_title(f"3x3 then 4x4: one unit sees {bottom - top}x{right - left} pixels", fontsize=10)
plt.show()

# %%
# The claim, decided by the site's rule:
stats.claim(
    "A 4x4 filter on top of a 3x3 filter (stride 1) sees 6x6 input pixels",
    stats.exact(fields["1"].size[0]),
    above=5.5,
    below=6.5,
    unit="pixels across",
)

# %%
# The general rule (Araujo et al. :cite:`araujo2019computing`): a layer with kernel k
# adds (k - 1) times the current stride to the size, and its own stride multiplies the
# stride. Stride and :term:`pooling` are what make the field grow fast: after a stride-2 layer each
# extra kernel pixel is worth two input pixels.
#
# The network of the first chapter
# --------------------------------
# The CNN of :ref:`chapter-first-layers`: a 7x7 stride-2 convolution, then two 3x3
# convolutions, each block followed by 2x2 max-pooling, trained on 32x32 patches.
config = models.CNNConfig(
    in_channels=3, widths=(32, 64, 128), kernel_sizes=(7, 3, 3), strides=(2, 1, 1)
)
cnn_fields = receptive.receptive_field(config.build(), input_size=(32, 32))
rows = [n for n in cnn_fields if n.startswith(("conv", "pool")) or n == "gap"]
print(f"{'layer':>6} {'field':>7} {'stride':>7} {'map':>7}")
for name in rows:
    rf = cnn_fields[name]
    print(f"{name:>6} {rf.size[0]:>5}px {rf.stride[0]:>6}px {rf.shape[0]:>3}x{rf.shape[1]:<3}")

# %%
# As the field grows the map shrinks: the last pooling layer has a 2x2 map whose units each see
# a patch larger than the 32x32 input (the part outside is padding). Drawn on a 32x32 patch:
fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
sizes = [cnn_fields[n].size[0] for n in rows]
maps = [cnn_fields[n].shape[0] for n in rows]
ax.plot(rows, sizes, "o-", label="receptive field (input pixels)")
ax.plot(rows, maps, "s--", label="feature-map side (units)")
ax.axhline(32, color="0.5", lw=1, ls=":")
ax.text(0, 33, "input size 32", color="0.4", fontsize=8)
ax.set_yscale("log", base=2)
ax.set_ylabel("pixels / units")
ax.legend(fontsize=8)
ax.set_title("Deeper units see more of the image through a smaller map")
plt.show()

# %%
# The same growth, layer by layer: each frame outlines the input pixels that the unit at the
# centre of that layer's map sees, on a 32x32 photograph the size of the network's input. The
# grey margin is the zero padding, which the deepest units also see. Press play, or step through
# the layers with the arrows.
small = F.interpolate(
    data.photo_tensor("chelsea")[None],
    size=(32, 32),
    mode="bilinear",
    antialias=True,
)
boxes = {"input": (16, 16, 17, 17)}  # a pixel sees itself
for name in rows:
    rf = cnn_fields[name]
    boxes[name] = rf.box(rf.shape[0] // 2, rf.shape[1] // 2)
margin = 1 + max(max(-t, -lf, b - 32, r - 32) for t, lf, b, r in boxes.values())
pad = ((margin, margin), (margin, margin), (0, 0))
canvas = np.pad(plot.to_image(small[0]), pad, constant_values=0.8)  # padding: light grey
field_growing = plot.image_animation(
    [[canvas]] * len(boxes),
    [f"{name}: {b - t}x{r - lf} pixels" for name, (t, lf, b, r) in boxes.items()],
    boxes=[[(t + margin, lf + margin, b + margin, r + margin)] for t, lf, b, r in boxes.values()],
    figsize=(3.2, 3.4),
)
plt.show()

# %%
# The same 5x5 filter at different depths
# ---------------------------------------
# A 5x5 filter at the bottom of a network covers a tiny patch of a 224x224 photograph. The same
# 5x5 filter placed after a few 3x3-convolution-and-pool blocks reads a 5x5 window of a small
# :term:`feature map`, which stands for a large part of the photograph. Each network below is ``d``
# blocks (3x3 convolution, ReLU, 2x2 max-pool) followed by one 5x5 convolution; we outline what
# the unit at the centre of the 5x5 layer's map sees.
pixels = F.interpolate(
    data.photo_tensor("chelsea")[None],
    size=(224, 224),
    mode="bilinear",
    antialias=True,
)
image = plot.to_image(pixels[0])
depths = [0, 1, 2, 3, 4, 5]
fig, axes = plt.subplots(1, len(depths), figsize=(13, 2.9), layout="constrained")
for d, ax in zip(depths, axes, strict=True):
    net = models.CNNConfig(
        widths=(8,) * (d + 1), kernel_sizes=(3,) * d + (5,), pools=(True,) * d + (False,)
    ).build()
    rf = receptive.receptive_field(net, (224, 224))[f"conv{d + 1}"]
    centre = (rf.shape[0] // 2, rf.shape[1] // 2)
    t, lf, b, r = rf.box(*centre, clip=(224, 224))
    ax.imshow(image)
    ax.add_patch(Rectangle((lf - 0.5, t - 0.5), r - lf, b - t, fill=False, color="red", lw=2))
    ax.set_axis_off()
    share_map = 25 / (rf.shape[0] * rf.shape[1])
    title = f"5x5 after {d} blocks\nmap {rf.shape[0]}x{rf.shape[1]}: "
    ax.set_title(title + f"sees {rf.size[0]}x{rf.size[1]} px", fontsize=9)
    print(
        f"after {d} blocks: the 5x5 filter reads {share_map:6.2%} of a {rf.shape[0]}x{rf.shape[1]}"
        f" map and sees {rf.size[0]}x{rf.size[1]} pixels = {rf.size[0] ** 2 / 224**2:6.2%} of"
        " the photograph"
    )
fig.suptitle("The same 5x5 filter sees a larger patch the deeper it sits", fontsize=11)
plt.show()

# %%
# The general rule checked: Araujo et al.'s closed form, size = 1 + sum over layers of
# (k - 1) times the product of the strides below, gives for five blocks and the 5x5 filter:
kernels_strides = [(3, 1), (2, 2)] * 5 + [(5, 1)]  # (kernel, stride): conv, pool, ..., 5x5
formula, jump = 1, 1
for k, s in kernels_strides:
    formula += (k - 1) * jump
    jump *= s
print(f"closed form: {formula} pixels; computed from the network: {rf.size[0]} pixels")
stats.claim(
    "A 5x5 filter after five 3x3-convolution-and-pool blocks sees a patch as wide as Araujo "
    f"et al.'s closed form gives ({formula} pixels)",
    stats.exact(rf.size[0]),
    above=formula - 0.5,
    below=formula + 0.5,
    unit="pixels across",
)

# %%
# What it shows
# -------------
# Two 3x3-then-4x4 filters already see 6x6 pixels, and the same 5x5 filter sees 5x5 pixels at
# the bottom of a network and a patch almost as large as the photograph after five blocks: the
# share of its feature map that a 5x5 window covers grows as the maps shrink, and so does the
# patch of the photograph behind it. Nothing about the filter changed; only where it sits.
# That is the first part of the answer to "how does a unit decide where to look": its
# receptive field is fixed by the architecture, and deeper units look at bigger patches. What a
# unit does *inside* its patch is learned, and the next page measures how much of the patch it
# actually uses.
