"""
Small networks and a big one: the same hierarchy?
=================================================

Every other chapter measures small networks trained for a minute on small bundled data. Do their
results say anything about the networks of the textbook pictures? This page puts the two side by
side with the site's own measuring tools. First the :term:`linear probes <linear probe>` of
:ref:`sphx_glr_auto_examples_what_layers_learn_plot_linear_probes.py` (stroke orientation,
parts, object, in line drawings whose ground truth is known) run through the stages of
EfficientNet-Lite0, trained on ImageNet and never shown a line drawing, next to the small CNN
trained on the drawings themselves. Then centred kernel alignment (:term:`CKA`)
:cite:`kornblith2019similarity` between every layer of the small photo-patch CNN of the first
chapter and every stage of EfficientNet, on the same photo patches: do a 3-layer network trained
on twelve photographs and a 4.6-million-parameter ImageNet network represent them alike, layer
for layer?

:Predict first: Does training a small CNN on twelve photographs make its last block more like a
   stage of an ImageNet network, or less?
"""

# %%
# The design, fixed before the run
# --------------------------------
# *Probes.* The drawings, labels, probes and small CNNs of the linear-probe page, unchanged
# (:mod:`layerwise.hierarchy` holds the labels), on fewer drawings (printed below) to keep
# EfficientNet's forward passes cheap; both networks are probed on the same training and test
# drawings. EfficientNet sees each 32x32 drawing resized to 64x64 pixels. Its control is five
# untrained copies (seeds), with their :term:`batch-norm <batch normalisation>` statistics set on
# the probe's training drawings as on the other pages of this chapter; the small CNN's control is
# each seed's initial network. Claim: at the head, EfficientNet's last layer before
# :term:`pooling`, ImageNet training changes how well the object of a drawing can be read
# (trained minus the untrained copies, one difference per untrained seed).
#
# *CKA.* Linear CKA between each block of the photo-patch CNN (five seeds) and each stage of
# the trained EfficientNet, on the same held-out photo patches (32x32 for the small CNN,
# 64x64 for EfficientNet), every layer average-pooled to at most a 4x4 grid
# (:func:`layerwise.similarity.pooled`) so that the two networks' positions line up. The
# control is the same small CNN before training (same seed), against the same EfficientNet:
# CKA between random features and any network is far from zero, since both keep much of the
# input's own structure. Claim: for the small CNN's last block (pool3), the CKA with its
# best-matching EfficientNet stage (the maximum over the nine stages, taken the same way for
# trained and untrained) changes with training, paired by seed.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import (
    data,
    features,
    hierarchy,
    imagenet,
    models,
    runtime,
    similarity,
    stats,
    train,
    zoo,
)

SIZE = 64  # EfficientNet's input side, a multiple of 32
seeds = runtime.seeds(5)
drawings = data.shapes(
    n_train=runtime.pick(quick=1500, default=4000, full=20000),
    n_test=runtime.pick(quick=600, default=1500, full=4000),
)
n_train = runtime.pick(quick=120, default=300, full=2000)
n_test = runtime.pick(quick=100, default=200, full=1500)
n_calibrate = runtime.pick(quick=32, default=64, full=512)
labels = hierarchy.probe_labels(drawings, n_train, n_test)
x_tr, x_te = drawings.x_train[:n_train], drawings.x_test[:n_test]
big_tr = imagenet.inputs(drawings.denormalize(x_tr), SIZE)
big_te = imagenet.inputs(drawings.denormalize(x_te), SIZE)
print(f"{n_train} training and {n_test} test drawings; EfficientNet sees them at {SIZE} px")

# %%
# The networks
# ------------
# The small CNN is the linear-probe page's (three blocks of 8, 16 and 32
# :term:`channels <channel>`, the same training, so :func:`layerwise.train.fit` finds it in the
# :term:`model cache`).
config = models.CNNConfig(in_channels=1, num_classes=drawings.num_classes, widths=(8, 16, 32))
schedule = train.Schedule(epochs=runtime.pick(quick=2, default=4, full=15), batch_size=32, lr=3e-3)
small = {
    "trained": [
        f.model.cpu().eval()
        for f in train.fit_seeds(config, drawings, schedule, seeds, verbose=False)
    ],
    "untrained": [train.untrained(config, s, device="cpu") for s in seeds],
}
big = {
    "trained": [imagenet.pretrained()],
    "untrained": [imagenet.untrained(s, calibrate=big_tr[:n_calibrate]) for s in seeds],
}
small_layers = ["pool1", "pool2", "pool3", "gap"]
big_layers = list(imagenet.STAGES)


def probe(net, layers, train_x, test_x):
    rows = similarity.probe_layers(
        net, train_x, test_x, layers, labels, solver="ridge", batch_size=64
    )
    return hierarchy.level_accuracy(rows, layers)[0]  # (layer, level)


acc = {
    ("small", kind): np.stack([probe(n, small_layers, x_tr, x_te) for n in nets])
    for kind, nets in small.items()
}
acc |= {
    ("big", kind): np.stack([probe(n, big_layers, big_tr, big_te) for n in nets])
    for kind, nets in big.items()
}  # (network, layer, level)
chance = hierarchy.level_accuracy(
    similarity.probe_layers(small["trained"][0], x_tr, x_te, ["input"], labels, solver="ridge"),
    ["input"],
)[1][0]
levels = hierarchy.LEVELS
for (net, kind), a in acc.items():
    layers = small_layers if net == "small" else big_layers
    for j, level in enumerate(levels):
        print(
            f"{net} {kind:>9}, {level:>11}: "
            + ", ".join(f"{layer} {a[:, i, j].mean():.3f}" for i, layer in enumerate(layers))
        )
print("chance: " + ", ".join(f"{lv} {c:.3f}" for lv, c in zip(levels, chance, strict=True)))

# %%
# The probes against relative depth
# ---------------------------------
# Each network's layers are spread over the same axis, from its first layer to its last
# (relative depth = layer number / number of layers). Solid: trained (EfficientNet on
# ImageNet, the small CNN on the drawings); dashed: untrained, with a band spanning the 95 %
# interval over five seeds; dotted: chance.
depth = {
    "small": np.arange(1, len(small_layers) + 1) / len(small_layers),
    "big": np.arange(1, len(big_layers) + 1) / len(big_layers),
}
names = {"small": "small CNN (drawings)", "big": "EfficientNet (ImageNet)"}
colours = {"small": "C3", "big": "C0"}
fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained", sharex=True)
for j, (ax, level) in enumerate(zip(axes, levels, strict=True)):
    for net in ("big", "small"):
        for kind, style in (("trained", "-o"), ("untrained", "--s")):
            a = acc[net, kind][:, :, j]
            ax.plot(
                depth[net],
                a.mean(0),
                style,
                color=colours[net],
                ms=4,
                alpha=1 if kind == "trained" else 0.6,
                label=f"{names[net]}, {kind}",
            )
            if len(a) > 1:
                iv = [stats.Runs(a[:, i]).interval() for i in range(a.shape[1])]
                ax.fill_between(
                    depth[net],
                    [i.low for i in iv],
                    [i.high for i in iv],
                    color=colours[net],
                    alpha=0.15,
                )
    ax.axhline(chance[j], color="grey", ls=":", label="chance")
    ax.set_title({"parts": "parts in the clutter (apart from the object)"}.get(level, level))
    ax.set_xlabel("relative depth (layer / number of layers)")
    ax.set_xlim(0, 1.02)
axes[0].set_ylabel("probe test accuracy")
handles, texts = axes[0].get_legend_handles_labels()
fig.legend(handles, texts, loc="outside lower center", ncols=5, fontsize=8)
fig.suptitle("Linear probes of the drawings' three levels, a small CNN and EfficientNet")
plt.show()

# %%
# The claim compares the ImageNet network's head with each untrained copy's head on the same
# test drawings:
j_object = levels.index("object")
head = big_layers.index("head")
object_gain = stats.Runs(
    acc["big", "trained"][0, head, j_object] - acc["big", "untrained"][:, head, j_object], seeds
)
print(f"object at the head, ImageNet-trained minus untrained: {object_gain}")
for level in ("orientation", "parts"):
    j = levels.index(level)
    best = int(np.argmax(acc["big", "trained"][0, :, j]))
    gain = stats.Runs(acc["big", "trained"][0, :, j] - acc["big", "untrained"][:, :, j].mean(0))
    print(
        f"{level}: trained EfficientNet reads it best at {big_layers[best]} "
        f"({acc['big', 'trained'][0, best, j]:.3f}); trained minus untrained over the stages "
        f"ranges {gain.array.min():+.3f} .. {gain.array.max():+.3f}"
    )
stats.claim(
    "EfficientNet's ImageNet training makes the object of a line drawing more linearly readable "
    "at its head than in untrained copies (probe accuracy, trained minus untrained)",
    object_gain,
    above=0,
)

# %%
# Do small and big networks represent photographs alike?
# ------------------------------------------------------
# The photo-patch CNN of the first chapter (:func:`layerwise.zoo.photo_cnn`: three blocks of
# 32, 64 and 128 channels trained to name which of twelve photographs a 32x32 patch comes
# from), five seeds, and its untrained starting points. Its held-out patches go to both
# networks, the same number from each photograph.
recipe = zoo.photo_cnn()
patches = recipe.data
per_photo = runtime.pick(quick=8, default=36, full=120)
# The test set is ordered by photograph: take the first ``per_photo`` patches of each.
chosen = torch.cat(
    [torch.where(patches.y_test == c)[0][:per_photo] for c in range(patches.num_classes)]
)
x_small = patches.x_test[chosen]
x_big = imagenet.inputs(patches.denormalize(x_small), SIZE)
n_patches = len(chosen)
print(
    f"{n_patches} held-out patches, {per_photo} from each of the {patches.num_classes} photographs"
)
photo_layers = ["pool1", "pool2", "pool3", "gap"]
sizes = {
    "small CNN": sum(p.numel() for p in train.untrained(recipe.config, 0, "cpu").parameters()),
    "EfficientNet": sum(p.numel() for p in imagenet.untrained(0).parameters()),
}
print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))


def activations(net, x, layers):
    maps = features.extract(net, x, layers, batch_size=64)
    return {k: similarity.pooled(v, 4) for k, v in maps.items()}


big_acts = activations(imagenet.pretrained(), x_big, big_layers)
small_nets = {
    "trained": [recipe.fit(seed=s, verbose=False).model.cpu() for s in seeds],
    "untrained": [train.untrained(recipe.config, s, "cpu") for s in seeds],
}
small_acts = [
    maps[layer]
    for nets in small_nets.values()
    for maps in (activations(net, x_small, photo_layers) for net in nets)
    for layer in photo_layers
]
# One call, so that each layer's kernel matrix is computed once.
table = similarity.cka_matrix(small_acts, [big_acts[b] for b in big_layers])
cka = dict(
    zip(small_nets, table.reshape(len(small_nets), len(seeds), len(photo_layers), -1), strict=True)
)  # kind -> (seed, small layer, stage)

# %%
# The CKA maps
# ------------
# Rows: the small CNN's layers; columns: EfficientNet's stages; the mean over five seeds.
# Left: the small CNN trained; middle: the same networks untrained; right: the difference.
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
top = max(cka["trained"].mean(0).max(), cka["untrained"].mean(0).max())
diff = cka["trained"].mean(0) - cka["untrained"].mean(0)
reach = np.abs(diff).max()
panels = (
    ("small CNN trained", cka["trained"].mean(0), "viridis", 0, top),
    ("small CNN untrained", cka["untrained"].mean(0), "viridis", 0, top),
    ("trained minus untrained", diff, "RdBu_r", -reach, reach),
)
for ax, (title, values, cmap, lo, hi) in zip(axes, panels, strict=True):
    im = ax.imshow(values, cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
    for (r, c), v in np.ndenumerate(values):
        ax.text(
            c,
            r,
            f"{v:.2f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if cmap == "viridis" and v < 0.6 * hi else "black",
        )
    ax.set_xticks(range(len(big_layers)), big_layers, rotation=45, ha="right")
    ax.set_yticks(range(len(photo_layers)), photo_layers)
    ax.set_xlabel("EfficientNet stage (ImageNet-trained)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.9, label="linear CKA" if cmap == "viridis" else "difference")
axes[0].set_ylabel("photo-patch CNN layer")
fig.suptitle(f"CKA between a small CNN and EfficientNet on {n_patches} photo patches")
plt.show()

# %%
# The best-matching stage of each small layer, and the claim on pool3:
for kind in cka:
    for i, layer in enumerate(photo_layers):
        best = [big_layers[k] for k in cka[kind][:, i].argmax(1)]
        peak = stats.Runs(cka[kind][:, i].max(1), seeds)
        print(f"{kind:>9} {layer}: best CKA {peak} at {', '.join(best)}")
pool3 = photo_layers.index("pool3")
best_match = {kind: stats.Runs(cka[kind][:, pool3].max(1), seeds) for kind in cka}
pool3_gain = stats.paired(best_match["trained"], best_match["untrained"])
print(f"pool3 best-match CKA, trained minus untrained: {pool3_gain}")
stats.claim(
    "Training the small photo-patch CNN makes its last block (pool3) less similar to its "
    "best-matching stage of the ImageNet network (linear CKA, trained minus untrained, paired "
    "by seed)",
    pool3_gain,
    below=0,
)

# %%
# Where the similarity goes: trained minus untrained for pool3 at every stage, paired by seed
# (a description of the map, not a second test):
for k, stage in enumerate(big_layers):
    d = stats.paired(
        stats.Runs(cka["trained"][:, pool3, k], seeds),
        stats.Runs(cka["untrained"][:, pool3, k], seeds),
    )
    print(f"pool3 vs {stage:>6}: trained minus untrained {d}")

# %%
# What it shows
# -------------
# **The probes: the same three levels, mostly the same shape.** EfficientNet has never seen a line
# drawing, yet ImageNet training makes the drawing's object far more readable at its head than in
# its untrained copies (the claim, in probe accuracy over eight classes), and from stage 5 on it
# reads the object better than any layer of the small CNN trained on the drawings themselves (the
# table above). Orientation behaves as in the small CNN: readable early, lost towards the top where
# positions are pooled away. Two differences are new. In an untrained EfficientNet, orientation
# fades to chance by stage 6: a deep random network does not even keep local orientation, and
# ImageNet training is what carries it through the middle stages (in the three-layer CNN, trained
# and untrained curves nearly coincide). And the trained stem and stage 1 read orientation *less*
# well than the untrained ones, on this 4x4 grid of 64-pixel drawings (the range printed above).
# The parts in the clutter are read no better than always answering "no" (the dotted line) by any
# layer of either network, trained or not: what becomes readable with depth is the object, in both.
#
# **CKA: a high number needs its baseline.** The largest values in the maps are not between
# the trained networks: the *untrained* small CNN matches EfficientNet's stem and stage 1 best,
# at every one of its layers, with CKA around 0.9 (printed above). Random convolutions keep
# much of the input's own structure, and so does EfficientNet's first stage. Training moves
# the small CNN away from that: its last block ends up *less* similar to its best-matching
# stage than before training (the claim). What training adds lies deeper: pool3's CKA with
# every stage from stage 2 to the head rises, and the best match of the small CNN's second and
# third blocks moves from the stem to a middle stage (both printed above), while its first
# block stays closest to the stem. So the order is kept, first with first and later with
# later, but the small network's last block looks most like the middle of the big one, not
# its end. Kornblith et al. :cite:`kornblith2019similarity` find that CKA matches
# corresponding layers of networks trained on the same data; between networks of such
# different sizes (printed above), trained on different tasks, the correspondence is
# compressed, and the map only means something next to the same map for an untrained network.
