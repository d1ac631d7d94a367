"""
What every layer computes for one photograph
============================================

A :term:`filter` is only half of the story: what a layer *outputs* for an image is a stack of
feature maps, one per filter, each saying where in the image that filter's pattern occurs. This
page runs the network trained in
:ref:`sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py` on a whole photograph and
shows the maps of every layer: the image shrinks and the number of :term:`channels <channel>` grows
as we go deeper.

:Predict first: Deeper in a CNN, does each position describe more of the photograph, and does
   training make those descriptions more informative?
"""

# %%
# The network and the photograph
# -------------------------------
# The same data, configuration and seed as on the previous page, so :func:`layerwise.train.fit`
# finds the trained network in the :term:`model cache` instead of training it again. The network
# was trained on 32x32 patches, but a convolutional network does not care about the input size up
# to its global :term:`pooling` layer, so it can look at a whole 256x256 photograph.
import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F

from layerwise import data, features, plot, runtime, similarity, stats, train, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
model = recipe.fit(seed=0).model.cpu()

# Chelsea the cat, one of the twelve training photographs
pixels = F.interpolate(
    data.photo_tensor("chelsea")[None],
    size=(256, 384),
    mode="bilinear",
    antialias=True,
)
x = patches.normalize(pixels)

# %%
# Every layer's output
# --------------------
# :func:`layerwise.features.extract` returns the output of any named layer. We read the
# output of each block, after its ReLU and max-pooling.
layers = ["pool1", "pool2", "pool3"]
maps = features.extract(model, x, layers)
for name in layers:
    c, h, w = maps[name].shape[1:]
    print(f"{name}: {c} channels of {h} x {w}")

# %%
# The first eight channels of each layer, each on its own colour scale (bright = strong
# response). In block 1 the maps are still recognisably the cat: some channels mark thin lines
# such as whiskers and stripes, others dark spots such as the eyes and nose, others regions of
# one colour. In block 2 the maps are coarser and mix these cues. By block 3 a map is a coarse
# grid that no longer looks like the photograph.
fig = plt.figure(figsize=(11, 7.2), layout="constrained")
rows = fig.subfigures(len(layers) + 1, 1, height_ratios=[1.4] + [1] * len(layers))
ax = rows[0].subplots()
ax.imshow(plot.to_image(pixels[0]))
ax.set_title(f"input: 3 channels of {pixels.shape[2]} x {pixels.shape[3]}", fontsize=10)
ax.set_axis_off()
for row, name in zip(rows[1:], layers, strict=True):
    c, h, w = maps[name].shape[1:]
    plot.feature_map_grid(maps[name][0], n=8, ncols=8, fig=row, size=1.2)
    row.suptitle(f"{name}: {c} channels of {h} x {w} (first 8 shown)", fontsize=10)
plt.show()

# %%
# The shape of the computation
# ----------------------------
# Each block halves the height and width (the :term:`stride` of the first convolution halves it
# once more) and doubles the number of channels. The network trades *where* for *what*: fewer,
# coarser positions, each described by more features.
# :func:`layerwise.plot.architecture` draws every block's output as a box: its face as tall as
# the map is high, its depth as long as the map is wide, its thickness growing with the number of
# channels, followed by the classifier.
steps = ["relu1", "pool1", "relu2", "pool2", "relu3", "pool3", "gap", "fc"]
every = features.extract(model, x, steps)
shapes = [(3, *pixels.shape[2:])] + [tuple(every[n].shape[1:]) for n in layers]
drawn = [(3, *pixels.shape[2:])] + [
    (a.shape[1], *(a.shape[2:] if a.dim() == 4 else (1, 1))) for a in every.values()
]
names = ["input", *layers]
ax = plot.architecture(drawn, ["input", *steps])
ax.set_title("The photo CNN on one photograph: maps shrink in space while channels grow")
plt.show()

for name, (c, h, w) in zip(names, shapes, strict=True):
    print(f"{name:>6}: {c:4d} channels x {h:3d} x {w:3d} = {c * h * w:7d} numbers")

ratio = (shapes[0][1] * shapes[0][2]) / (shapes[-1][1] * shapes[-1][2])
stats.claim(
    f"Each position of block 3 stands for {ratio:g} input pixels, described by "
    f"{shapes[-1][0]} channels instead of 3",
    stats.exact(ratio),
    above=1,
)

# %%
# What do the channels carry?
# ---------------------------
# A map that no longer looks like the photograph may still say a lot about it. We average
# each layer's maps over all positions, so only *which* channels respond is left, and ask a
# :term:`linear probe` (:func:`layerwise.similarity.probe_layers`) which of the twelve photographs
# a test patch comes from. The control is the same network untrained, from the same five seeds:
# random filters also keep information about their input, so the question is what training adds at
# each depth.
seeds = runtime.seeds()
probe_set = patches.subset(runtime.pick(quick=300, default=2000, full=6000))  # class-balanced
labels = {"photograph": (probe_set.y_train, patches.y_test)}


def probe(net):
    rows = similarity.probe_layers(
        net.cpu(), probe_set.x_train, patches.x_test, layers, labels, grid=1
    )
    return [row.test_accuracy for row in rows]


acc = {
    "trained": np.array([probe(recipe.fit(seed=s).model) for s in seeds]),
    "untrained": np.array([probe(train.untrained(recipe.config, s, "cpu")) for s in seeds]),
}  # (seed, layer)
fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
for kind, style in (("trained", "o-"), ("untrained", "s--")):
    plot.errorbar(ax, layers, acc[kind].T, fmt=style, label=kind)
ax.axhline(1 / patches.num_classes, color="grey", ls=":", label="chance")
ax.set(ylim=(0, 1), ylabel="probe test accuracy", title="Which photograph? Read from each block")
ax.legend()
plt.show()
gain = {
    name: stats.paired(acc["trained"][:, j], acc["untrained"][:, j])
    for j, name in enumerate(layers)
}
for name, g in gain.items():
    print(f"{name}: trained minus untrained probe accuracy {g}")
stats.claim(
    "Training makes block 3's channels name the photograph better than the untrained "
    "network's (probe accuracy on position-averaged maps, trained minus untrained)",
    gain["pool3"],
    above=0,
)

# %%
# What it shows
# -------------
# The printed table shows the trade: the photograph enters as three channels of many pixels
# and leaves block 3 as many channels of a few positions each, so the total amount of numbers
# changes far less than either factor. The first block's maps are still images (edges and
# colours, located precisely); deeper maps are coarse grids whose meaning can no longer be read
# from a single channel.
#
# They still carry a lot. Averaged over all positions, even an untrained network's channels
# tell the twelve photographs apart far above chance: random filters keep colour and texture
# statistics. What training adds grows with depth: little in block 1, most in blocks 2 and 3
# (the printed paired differences), where the trained channels name the photograph better than
# random ones do. Later chapters look at what those deeper channels respond to.
