"""
Measuring the hierarchy with linear probes
==========================================

Pictures of what a unit likes are suggestive, not proof. A *linear probe* asks a sharper
question :cite:`alain2016understanding`: can a linear classifier read a property out of a
layer's activations? We train small CNNs to name the object in generated line drawings whose
ground truth is known at three levels -- the orientation of the stroke at a location, which
parts (corner, junction, curve) the drawing contains, and the object -- and probe every layer
of trained and untrained networks for each level.

:Predict first: Which layer of a CNN makes the object most readable, and which the orientation
   of a local stroke?
"""

# %%
# Data with ground truth at every level
# -------------------------------------
# :func:`layerwise.data.shapes` draws one object (square, triangle, circle, plus, tee, ell, arc
# or bars) at a random place, size and angle, plus up to two small pieces of clutter (a corner,
# a junction, a curve or a plain stroke). For each image it returns the dominant stroke
# orientation in each cell of a 4x4 grid (four 45-degree bins, or empty), whether it contains
# a corner, a junction and a curve, and the object class.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, hierarchy, models, plot, runtime, similarity, stats, train

drawings = data.shapes(
    n_train=runtime.pick(quick=1500, default=4000, full=20000),
    n_test=runtime.pick(quick=600, default=1500, full=4000),
)
print(drawings)
fig = plot.image_grid(
    [drawings.denormalize(drawings.x_train[i])[0].numpy() for i in range(8)],
    titles=[
        drawings.classes[int(drawings.y_train[i])].upper()
        + "\n"
        + "\n".join(p for p in hierarchy.PARTS if drawings.labels_train[p][i])
        for i in range(8)
    ],
    ncols=8,
    size=1.4,
)
fig.suptitle("Training drawings with their class and the parts they contain", fontsize=10)
plt.show()

# %%
# Parts that are not the object again
# -----------------------------------
# Most of an image's parts come with its object: every square has corners, every plus a
# junction. A probe for "contains a corner" can then score well by recognising squares, and a
# rising "parts" curve would measure objects a second time. So the part probes here are
# conditioned on the class: the corner probe only sees images whose object has *no* corner
# (circles, pluses, tees, arcs, bars), where a corner can only come from the clutter, which is
# drawn independently of the object. The same for junctions and curves. Inputs outside a
# probe's subset are labelled ``-1`` and left out of it. Knowing the class, the best guess of
# such a label is the same for every image (:mod:`layerwise.hierarchy` holds these labels, so
# that the ImageNet chapter probes a big network on exactly the same ones):
for part, owners in hierarchy.HAS.items():
    print(f"{part:>8}: probed on images that are not {', '.join(sorted(owners))}")


def class_knowledge(part):
    """Test accuracy of predicting the label from the class alone (the majority per class)."""
    ytr = hierarchy.clutter_part(drawings, part, "train")
    yte = hierarchy.clutter_part(drawings, part, "test")
    guess = torch.zeros(drawings.num_classes, dtype=torch.long)
    for c in range(drawings.num_classes):
        seen = ytr[(drawings.y_train == c) & (ytr >= 0)]
        guess[c] = seen.mode().values if len(seen) else 0
    keep = yte >= 0
    return (guess[drawings.y_test[keep]] == yte[keep]).float().mean().item(), (
        yte[keep] == 0
    ).float().mean().item()


for part in hierarchy.PARTS:
    from_class, none = class_knowledge(part)
    print(
        f"{part:>8} in the clutter: the class alone predicts {from_class:.3f} "
        f"(always 'no': {none:.3f})"
    )

# %%
# The networks
# ------------
# Three convolution blocks (8, 16 and 32 :term:`channels <channel>`), trained from five seeds; the
# untrained control is each seed's initial network (:func:`layerwise.train.untrained`), so that
# trained and untrained are compared seed by seed. A probe can read a lot out of random features;
# only the difference tells what training added.
config = models.CNNConfig(in_channels=1, num_classes=drawings.num_classes, widths=(8, 16, 32))
schedule = train.Schedule(epochs=runtime.pick(quick=2, default=4, full=15), batch_size=32, lr=3e-3)
seeds = runtime.seeds(5)
fits = train.fit_seeds(config, drawings, schedule, seeds, verbose=False)
networks = {
    "trained": [f.model.cpu().eval() for f in fits],
    "untrained": [train.untrained(config, s, device="cpu") for s in seeds],
}
print("network test accuracy: " + ", ".join(f"{f.test_accuracy:.3f}" for f in fits))

# %%
# The probes
# ----------
# :func:`layerwise.similarity.probe_layers` average-pools each layer's maps to a 4x4 grid and
# fits a :term:`linear probe` of every label on training images, scored on held-out test images.
# The probe is a ridge-regression classifier (:func:`layerwise.similarity.ridge_probe`): one linear
# solve per layer instead of an iterative logistic regression, for 320 probes in a few seconds:
#
# * **orientation**: the stroke orientation in each of the four central cells of the grid
#   (five classes including "empty"), one probe per cell, averaged;
# * **parts**: a corner, a junction or a curve in the clutter, on images whose object lacks
#   it (above), one probe each, averaged;
# * **object**: the eight classes.
layers = ["pool1", "pool2", "pool3", "gap"]
levels = list(hierarchy.LEVELS)
n_probe = runtime.pick(quick=600, default=2000, full=6000)
x_tr, x_te = drawings.x_train[:n_probe], drawings.x_test
labels = hierarchy.probe_labels(drawings, n_train=n_probe)


def probe(net):
    """(layers, levels) test accuracy and chance, each level averaged over its probes."""
    rows = similarity.probe_layers(net, x_tr, x_te, layers, labels, solver="ridge")
    return hierarchy.level_accuracy(rows, layers)


results = {kind: [probe(net) for net in nets] for kind, nets in networks.items()}
acc = {
    kind: np.stack([a for a, _ in res]) for kind, res in results.items()
}  # (seed, layer, level)
chance = results["trained"][0][1][0]


def runs(kind, layer, level):
    return stats.Runs(acc[kind][:, layers.index(layer), levels.index(level)], seeds)


# %%
# Probe test accuracy per layer, mean ± 95 % interval over the seeds:
for kind in acc:
    print(f"{kind} networks")
    for level in levels:
        print(
            f"  {level:>11}: "
            + ", ".join(f"{layer} {runs(kind, layer, level)}" for layer in layers)
        )
print(
    "chance (most frequent label): "
    + ", ".join(f"{lv} {c:.3f}" for lv, c in zip(levels, chance, strict=True))
)

# %%
# Probe accuracy against depth
# ----------------------------
# One panel per level. Solid: trained networks; dashed: the same networks before training;
# bands: 95 % intervals over the seeds; dotted: chance.
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained", sharex=True)
for k, (ax, level) in enumerate(zip(axes, levels, strict=True)):
    for kind, style in (("trained", "-o"), ("untrained", "--s")):
        measured = [runs(kind, layer, level) for layer in layers]
        alpha = 1 if kind == "trained" else 0.6
        plot.band(ax, layers, measured, style, color=f"C{k}", alpha=alpha, label=kind)
    ax.axhline(chance[k], color="grey", ls=":", label="chance")
    top = max(acc["trained"][:, :, k].max(), acc["untrained"][:, :, k].max())
    ax.set_ylim(
        min(chance[k], acc["untrained"][:, :, k].min()) - 0.05, max(top + 0.04, chance[k] + 0.2)
    )
    ax.set_title({"parts": "parts in the clutter (apart from the object)"}.get(level, level))
    ax.set_xlabel("layer")
axes[0].set_ylabel("probe test accuracy")
axes[2].legend(fontsize=8, loc="upper left")
fig.suptitle(
    f"What a linear read-out of each layer recovers, trained vs untrained ({len(seeds)} seeds)"
)
plt.show()

# %%
# Claims
# ------
# Each comparison is paired by seed: the same seed's network at two layers, or the same
# seed's network trained and untrained.
stats.claim(
    "Trained networks: the object is more readable at the last layer (gap) than after the "
    "first block (pool1)",
    stats.paired(runs("trained", "gap", "object"), runs("trained", "pool1", "object")),
    above=0,
)
stats.claim(
    "Training adds to object readability at the last layer (trained minus untrained, gap)",
    stats.paired(runs("trained", "gap", "object"), runs("untrained", "gap", "object")),
    above=0,
)
stats.claim(
    "Trained networks: local stroke orientation is more readable after the first block (pool1) "
    "than at the last layer (gap)",
    stats.paired(runs("trained", "pool1", "orientation"), runs("trained", "gap", "orientation")),
    above=0,
)
stats.claim(
    "Training does not make the parts in the clutter readable at the last layer (trained minus "
    "untrained, gap, within ±0.03)",
    stats.paired(runs("trained", "gap", "parts"), runs("untrained", "gap", "parts")),
    above=-0.03,
    below=0.03,
)

# %%
# Trained minus untrained at every layer, for the two lower levels:
for level in ("orientation", "parts"):
    for layer in layers:
        d = stats.paired(runs("trained", layer, level), runs("untrained", layer, level))
        print(f"{level:>11}, trained minus untrained at {layer}: {d}")
best = {
    level: max(layers, key=lambda layer: runs("trained", layer, level).mean) for level in levels
}
print(
    "layer where each level is most readable (trained): "
    + ", ".join(f"{level} {best[level]}" for level in levels)
)
parts_margin = max(runs("trained", layer, "parts").mean for layer in layers) - chance[1]
print(f"parts: best layer's accuracy above always-'no' {parts_margin:.3f}")

# %%
# What it shows
# -------------
# The three levels behave differently with depth, and training acts on only one of them.
#
# * **Object.** In trained networks the object becomes more readable from the first block to
#   the last layer, and most readable at pool3 (the claims above give the numbers). Training
#   is what does it: at the last layer the trained networks beat their own untrained starting
#   points by a wide margin, while after the first block the two are close. These small
#   networks are trained briefly (their own test accuracy is printed above), so the absolute
#   numbers are low; the difference is not.
# * **Orientation.** Local stroke orientation is readable well above chance in the first three
#   blocks, most at pool2, and falls at the global average, which throws away where things
#   are. Training adds nothing measurable to it: trained and untrained curves coincide (printed
#   above). Convolution, ReLU and :term:`pooling` on their own make orientation linearly readable;
#   what a probe finds in an early layer is not evidence that training *put* it there.
# * **Parts, measured apart from the object.** Once the part label no longer follows from the
#   class, a linear read-out finds almost nothing: at its best layer the probe beats
#   always-"no" by the small printed margin, and at the last layer trained and untrained
#   networks do not differ. Networks trained to name the object do not make the small corners,
#   junctions and curves of the clutter readable: what becomes easy to read with depth is what
#   the task needs. (Without the conditioning, a "parts" curve would rise with depth simply
#   because parts come with objects.)
#
# Probes measure what is *available* to a linear read-out, not what the network *uses*; and
# a probe on random features is the baseline every probe result needs.
