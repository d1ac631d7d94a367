"""
Nearest neighbours in each layer's feature space
================================================

Two images are "close" to a layer when the layer's activations for them are close. Which
training images does each layer consider most similar to a given image? If early layers encode
local colour and texture and later layers what the picture is of, the neighbours should change
from "looks alike pixel by pixel" to "comes from the same photograph" as we go deeper -- and
the change should be the work of training, not of the architecture alone.

:Predict first: Do a deep layer's nearest neighbours come from the query's photograph more often
   than pixel-space ones, and is that training's work?
"""

# %%
# The networks
# ------------
# The photo-patch network of :func:`layerwise.zoo.photo_cnn` (the same network as the first
# chapter's, from the :term:`model cache`). Its label is which of twelve photographs a 32x32 patch
# was cut from. Five seeds of it are trained (the first chapter trains them, so they come from the
# cache). The control: the same five seeds' initial weights (:func:`layerwise.train.untrained`), so
# that what the architecture does on its own is measured, not assumed, and every comparison is
# paired by seed.
import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F

from layerwise import features, plot, runtime, stats, train, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
seeds = runtime.seeds(5)
trained = [recipe.fit(seed=s, verbose=False).model.cpu().eval() for s in seeds]
untrained = [train.untrained(recipe.config, s, device="cpu") for s in seeds]

# %%
# Distances
# ---------
# Each image is described by the flattened output of a layer (the raw pixels for "pixels"),
# and similarity is the cosine of the angle between two descriptions. Test patches are the
# queries; a sample of the training patches is the collection searched.
spaces = ["pixels", "pool1", "pool2", "pool3"]
every = runtime.pick(quick=1, default=2, full=1)  # every other training patch, all classes
x_db, y_db = patches.x_train[::every], patches.y_train[::every]
x_q, y_q = patches.x_test[::2], patches.y_test[::2]  # every other test patch, all classes
k = 5


def nearest(q, db):
    """(queries, k) indices of the k collection items with the largest cosine to each query."""
    a, b = F.normalize(q.flatten(1), dim=1), F.normalize(db.flatten(1), dim=1)
    return (a @ b.T).topk(k, dim=1).indices


in_pixels = nearest(x_q, x_db)  # the same for every network: found once


def neighbours(model):
    """Space -> (queries, k) indices of each query's k nearest collection patches."""
    db, q = features.extract(model, x_db, spaces[1:]), features.extract(model, x_q, spaces[1:])
    return {"pixels": in_pixels} | {name: nearest(q[name], db[name]) for name in spaces[1:]}


def same_photo(nn):
    """Space -> share of all k neighbours of all queries cut from the query's photograph."""
    return {name: (y_db[idx] == y_q[:, None]).float().mean().item() for name, idx in nn.items()}


found = {
    "trained": [neighbours(m) for m in trained],
    "untrained": [neighbours(m) for m in untrained],
}
share = {kind: [same_photo(nn) for nn in found[kind]] for kind in found}


def runs(kind, space):
    return stats.Runs([s[space] for s in share[kind]], seeds)


def trained_minus_untrained(space):
    """Each seed's trained network minus its own initial weights."""
    return stats.paired(runs("trained", space), runs("untrained", space))


for kind in share:
    print(f"{kind:>9}: " + ", ".join(f"{s} {runs(kind, s)}" for s in spaces))
print(f"chance: {1 / patches.num_classes:.3f}")

# %%
# Six queries and their five nearest training patches (trained network, seed 0)
# -----------------------------------------------------------------------------
# A green frame: the neighbour was cut from the same photograph as the query; red: another one.
rng = np.random.default_rng(0)
queries = [int(rng.choice(np.flatnonzero(y_q.numpy() == c))) for c in (0, 1, 2, 3, 6, 9)]


def show(ax, x, colour=None):
    ax.imshow(plot.to_image(x, patches))
    ax.set_xticks([])
    ax.set_yticks([])
    if colour:
        for side in ax.spines.values():
            side.set_edgecolor(colour)
            side.set_linewidth(3)


fig = plt.figure(figsize=(11, 5.4), layout="constrained")
blocks = fig.subfigures(len(queries), 1)
for block, i in zip(blocks, queries, strict=True):
    axes = block.subplots(1, 1 + len(spaces) * k, gridspec_kw={"wspace": 0.05})
    show(axes[0], x_q[i])
    axes[0].set_title("query", fontsize=8)
    for s, name in enumerate(spaces):
        for j in range(k):
            n = int(found["trained"][0][name][i, j])
            ax = axes[1 + s * k + j]
            show(ax, x_db[n], "tab:green" if y_db[n] == y_q[i] else "tab:red")
            if j == k // 2:
                ax.set_title(name, fontsize=9)
fig.suptitle("Nearest training patches in pixel space and in each layer's feature space")
plt.show()

# %%
# How often is a neighbour from the same photograph?
# ---------------------------------------------------
# Over every query: the share of its five nearest training patches that come from the query's
# photograph (chance: one in twelve), for the trained networks and the untrained ones (bars:
# 95 % intervals over the seeds).
fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
pos = np.arange(len(spaces))
for offset, kind, colour in ((-0.2, "trained", "C0"), (0.2, "untrained", "grey")):
    plot.bar(ax, pos + offset, [runs(kind, s) for s in spaces], 0.4, color=colour, label=kind)
ax.axhline(1 / patches.num_classes, color="k", ls=":", label="chance")
ax.set_xticks(pos, spaces)
ax.set_ylabel("neighbours from the same photo")
ax.set_ylim(0, 1)
ax.legend(loc="upper left", fontsize=8)
ax.set_title("Same-photograph neighbours per feature space, trained vs untrained")
plt.show()

# %%
# Claims
# ------
# Trained minus untrained, layer by layer:
for s in spaces[1:]:
    print(f"{s}: trained minus untrained {trained_minus_untrained(s)}")
deep = trained_minus_untrained("pool3")
stats.claim(
    "Training raises the share of last-block (pool3) neighbours cut from the query's photograph "
    "(trained minus untrained)",
    deep,
    above=0,
)
untrained_rise = stats.paired(runs("untrained", "pool3"), runs("untrained", "pool1"))
print(f"untrained networks, pool3 minus pool1: {untrained_rise}")
# Within each trained network, the rise from the first block to the last (paired by seed):
stats.claim(
    "In the trained networks, the share of same-photograph neighbours rises from the first "
    "block (pool1) to the last (pool3)",
    stats.paired(runs("trained", "pool3"), runs("trained", "pool1")),
    above=0,
)

# %%
# Colour versus class
# -------------------
# A pixel-space neighbour should look alike: how close is its mean colour to the query's? The
# mean colour difference between each query and its nearest neighbour in each space (trained
# network):
mean_rgb_db = patches.denormalize(x_db).mean(dim=(2, 3))
mean_rgb_q = patches.denormalize(x_q).mean(dim=(2, 3))
colour_gap = {
    name: (mean_rgb_db[found["trained"][0][name][:, 0]] - mean_rgb_q).abs().mean().item()
    for name in spaces
}
for name in spaces:
    print(f"{name:>6}: mean colour difference to the nearest neighbour {colour_gap[name]:.3f}")

# %%
# What it shows
# -------------
# In every trained network the share of neighbours from the query's photograph grows with
# depth, from the first block to the last, and at the last block it is well above what the same
# seed's initial weights give (the claims above give the numbers, paired by seed). Part of the
# picture is not learned, though: the untrained networks are far above chance too, and their
# share also rises from pool1 to pool3 (printed above). Random convolutions and :term:`pooling`
# already group patches by local colour and texture, which in this task often identifies the
# photograph; training adds to that at every block, and most at the last one.
#
# The colour differences contradict the simple story that early layers match colour and late
# layers ignore it: the neighbours found in the layers match the query's mean colour more
# closely than the pixel-space ones do. Cosine similarity of standardised pixels rewards the
# same layout of light and dark more than the same average colour, and in this task the
# photograph a patch comes from largely fixes its palette, so neighbours of the right class also
# have the right colours, despite the colour jitter used in training.
