"""
Nearest neighbours in each layer's feature space
================================================

Two images are "close" to a layer when the layer's activations for them are close. Which
training images does each layer consider most similar to a given image? If early layers encode
local colour and texture and later layers what the picture is of, the neighbours should change
from "looks alike pixel by pixel" to "comes from the same photograph" as we go deeper.
"""

# %%
# The network
# -----------
# The photo-patch network of :ref:`sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py`
# (same data, configuration and seed, so it comes from the model cache). Its label is which of
# twelve photographs a 32x32 patch was cut from.
import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F

from layerwise import features, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
model = recipe.fit(seed=0).model.cpu()

# %%
# Distances
# ---------
# Each image is described by the flattened output of a layer (the raw pixels for "pixels"),
# and similarity is the cosine of the angle between two descriptions. Test patches are the
# queries (every other one); the training patches are the collection searched.
spaces = ["pixels", "pool1", "pool2", "pool3"]
x_db, y_db = patches.x_train, patches.y_train
x_q, y_q = patches.x_test[::2], patches.y_test[::2]  # every other test patch, all classes
db = {"pixels": x_db, **features.extract(model, x_db, spaces[1:])}
q = {"pixels": x_q, **features.extract(model, x_q, spaces[1:])}
k = 5
neighbours = {}
for name in spaces:
    a = F.normalize(q[name].flatten(1), dim=1)
    b = F.normalize(db[name].flatten(1), dim=1)
    neighbours[name] = (a @ b.T).topk(k, dim=1).indices  # (queries, k)
for name in spaces:
    print(f"{name:>6}: {db[name][0].numel():5d} numbers per image")

# %%
# Six queries and their five nearest training patches
# ---------------------------------------------------
# A green frame: the neighbour was cut from the same photograph as the query; red: another one.
rng = np.random.default_rng(0)
queries = [int(rng.choice(np.flatnonzero(y_q.numpy() == c))) for c in (0, 1, 2, 3, 6, 9)]


def show(ax, x, colour=None):
    ax.imshow(patches.denormalize(x).permute(1, 2, 0).numpy())
    ax.set_xticks([])
    ax.set_yticks([])
    if colour:
        for side in ax.spines.values():
            side.set_edgecolor(colour)
            side.set_linewidth(3)


fig = plt.figure(figsize=(11, 8.5), layout="constrained")
blocks = fig.subfigures(len(queries), 1)
for block, i in zip(blocks, queries, strict=True):
    axes = block.subplots(1, 1 + len(spaces) * k, gridspec_kw={"wspace": 0.05})
    show(axes[0], x_q[i])
    axes[0].set_title("query", fontsize=8)
    for s, name in enumerate(spaces):
        for j in range(k):
            n = int(neighbours[name][i, j])
            ax = axes[1 + s * k + j]
            show(ax, x_db[n], "tab:green" if y_db[n] == y_q[i] else "tab:red")
            if j == k // 2:
                ax.set_title(name, fontsize=9)
fig.suptitle("Nearest training patches in pixel space and in each layer's feature space")
plt.show()

# %%
# How often is a neighbour from the same photograph?
# ---------------------------------------------------
# Over every query: the fraction of its five nearest training patches that come from the
# query's photograph (chance: one in twelve).
agreement = {
    name: (y_db[neighbours[name]] == y_q[:, None]).float().mean().item() for name in spaces
}
for name in spaces:
    print(f"{name:>6}: {agreement[name]:.3f} of the 5 nearest neighbours share the query's photo")
print(f"chance: {1 / patches.num_classes:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.bar(spaces, [agreement[n] for n in spaces], color=["grey", "C0", "C1", "C2"])
ax.axhline(1 / patches.num_classes, color="k", ls=":", label="chance")
ax.set_ylabel("neighbours from the same photo")
ax.set_ylim(0, 1)
ax.legend()
ax.set_title("Deeper features put patches of the same photograph together")
plt.show()

# %%
# Colour versus class
# -------------------
# A pixel-space neighbour should look alike: how close is its mean colour to the query's? We
# compare the mean colour difference between each query and its nearest neighbour in each space.
mean_rgb_db = patches.denormalize(x_db).mean(dim=(2, 3))
mean_rgb_q = patches.denormalize(x_q).mean(dim=(2, 3))
for name in spaces:
    diff = (mean_rgb_db[neighbours[name][:, 0]] - mean_rgb_q).abs().mean().item()
    print(f"{name:>6}: mean colour difference to the nearest neighbour {diff:.3f} (of 1)")

# %%
# What it shows
# -------------
# The printed fractions show how the notion of "similar" changes with depth: more of the
# neighbours come from the query's photograph in each deeper feature space, and the grass
# texture in the last row is matched by texture rather than by brightness once we leave pixel
# space. The colour differences contradict the simple story that early layers match colour and
# late layers ignore it: here the deeper neighbours match the query's mean colour at least as
# closely as the pixel-space ones. Cosine similarity of standardised pixels rewards the same
# layout of light and dark more than the same average colour, and in this task the photograph
# a patch comes from largely fixes its palette, so neighbours of the right class also have the
# right colours, despite the colour jitter used in training.
