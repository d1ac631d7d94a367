"""
No guarantees about a single neuron, but layers agree
=====================================================

Train the same network twice from different random seeds. Does unit 5 of the first network
learn what some unit of the second learns? And does the layer as a whole represent the inputs
the same way? We match units across seeds by correlation :cite:`li2016convergent`, and compare
whole layers with centred kernel alignment (CKA) :cite:`kornblith2019similarity`.
"""

# %%
# The same CNN from several seeds
# -------------------------------
# A three-block CNN on the 8x8 digits enlarged to 16x16.
import matplotlib.pyplot as plt
import numpy as np

from layerwise import data, features, models, neurons, runtime, similarity, train

digits = data.digits(size=16)
config = models.CNNConfig(in_channels=1, num_classes=10, widths=(16, 32, 64))
schedule = train.TrainConfig(epochs=runtime.pick(quick=3, default=15, full=30), batch_size=64)
seeds = list(range(runtime.pick(quick=2, default=3, full=5)))
nets = [train.fit(config, digits, schedule, seed=s).model for s in seeds]
layers = ["relu1", "relu2", "relu3"]
acts = [features.extract(net, digits.x_test, layers) for net in nets]
pairs = [(a, b) for a in range(len(seeds)) for b in range(a + 1, len(seeds))]

# %%
# Matching single units
# ---------------------
# For every channel of network A, its best-correlated channel of network B (every pixel
# position of every test image counts as a sample), and the one-to-one pairing that maximises
# the total correlation (:func:`layerwise.neurons.match_units`).
best, one_to_one = {name: [] for name in layers}, {name: [] for name in layers}
for a, b in pairs:
    for name in layers:
        match = neurons.match_units(acts[a][name], acts[b][name])
        best[name].append(match.best.numpy())
        one_to_one[name].append(match.one_to_one.numpy())
for name in layers:
    bb, oo = np.concatenate(best[name]), np.concatenate(one_to_one[name])
    print(
        f"{name}: best-match correlation median {np.median(bb):.2f}, above 0.9 for "
        f"{(bb > 0.9).mean():.0%} of units; one-to-one median {np.median(oo):.2f}, above 0.9 "
        f"for {(oo > 0.9).mean():.0%}  (seed pairs {pairs})"
    )

# %%
# Comparing whole layers
# ----------------------
# CKA between the same layer of two networks, linear and RBF kernels, with the debiased
# estimator (:func:`layerwise.similarity.cka`). Feature maps are flattened: one row per image.
cka = {k: {name: [] for name in layers} for k in ("linear", "rbf")}
for a, b in pairs:
    for name in layers:
        x, y = acts[a][name].flatten(1), acts[b][name].flatten(1)
        cka["linear"][name].append(similarity.cka(x, y, debiased=True))
        cka["rbf"][name].append(similarity.cka(x, y, kernel="rbf", threshold=1.0, debiased=True))
for name in layers:
    lin, rbf = np.array(cka["linear"][name]), np.array(cka["rbf"][name])
    print(
        f"{name}: CKA across seeds, linear {lin.mean():.3f} (min {lin.min():.3f}), "
        f"RBF {rbf.mean():.3f} (min {rbf.min():.3f})"
    )
# Across different layers of the two networks, for reference.
cross = np.array(
    [
        [
            similarity.cka(acts[0][p].flatten(1), acts[1][q].flatten(1), debiased=True)
            for q in layers
        ]
        for p in layers
    ]
)
print("linear CKA, layer of seed 0 (rows) vs layer of seed 1 (columns):")
print(np.array2string(cross, precision=3))

# %%
# The picture
# -----------
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
bins = np.linspace(0, 1, 21)
for name in layers:
    axes[0].hist(np.concatenate(one_to_one[name]), bins=bins, histtype="step", lw=2, label=name)
axes[0].set(xlabel="correlation with its one-to-one partner", ylabel="number of units")
axes[0].set_title("Single units: best one-to-one partner")
axes[0].legend()
x = np.arange(len(layers))
for k, (kind, values) in enumerate(cka.items()):
    axes[1].bar(x + 0.2 * (2 * k - 1), [np.mean(values[n]) for n in layers], 0.4, label=kind)
axes[1].set(xticks=x, xticklabels=layers, ylim=(0, 1), ylabel="CKA across seeds (debiased)")
axes[1].set_title("Whole layers: compared by CKA")
axes[1].legend(loc="lower left")
im = axes[2].imshow(cross, vmin=0, vmax=1, cmap="viridis")
axes[2].set(xticks=x, xticklabels=layers, yticks=x, yticklabels=layers)
axes[2].set(xlabel=f"seed {seeds[1]}", ylabel=f"seed {seeds[0]}")
axes[2].set_title("Linear CKA, layer vs layer")
for i in range(len(layers)):
    for j in range(len(layers)):
        axes[2].text(j, i, f"{cross[i, j]:.2f}", ha="center", va="center", color="w")
plt.show()

# %%
# What it shows
# -------------
# The printed medians say how often a unit of one network has a close partner in the other.
# Some units do, especially in the first layer, where the useful filters for these images are
# few; most do not, and the one-to-one pairing, which forbids two units from claiming the same
# partner, finds fewer still. Whole layers, measured by CKA, are much more alike than their
# units, and each layer is most similar to the same layer of the other network. So nothing
# guarantees what one particular neuron learns: the same information can be spread over the
# units in many rotated or mixed ways, and which one the training finds depends on the seed.
# What is reproducible is the representation of the layer as a whole, which is also why it
# transfers.
