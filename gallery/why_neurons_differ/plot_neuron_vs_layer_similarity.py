"""
No guarantees about a single neuron, but layers agree
=====================================================

Train the same network several times from different random seeds. Does unit 5 of the first
network learn what some unit of the second learns? And does the layer as a whole represent the
inputs the same way? We match units across seeds by correlation :cite:`li2016convergent`, and
compare whole layers with centred kernel alignment (:term:`CKA`) :cite:`kornblith2019similarity`,
each against the same measurement on untrained networks of different seeds.

:Predict first: Do two networks trained from different seeds learn the same single units, or
   only the same layers?
"""

# %%
# The same CNN from several seeds, trained and untrained
# ------------------------------------------------------
# A three-block CNN on the 8x8 digits enlarged to 16x16, trained from each seed; the untrained
# control is the network each seed starts from (:func:`layerwise.train.untrained`). Every
# measurement below is made for every pair of seeds.
import itertools

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from layerwise import data, features, models, neurons, plot, runtime, similarity, stats, train

digits = data.digits(size=16)
config = models.CNNConfig(in_channels=1, num_classes=10, widths=(16, 32, 64))
schedule = train.Schedule(epochs=runtime.pick(quick=3, default=15, full=30), batch_size=64)
seeds = runtime.seeds(5)
layers = ["relu1", "relu2", "relu3"]
nets = {
    "trained": train.fit_seeds(config, digits, schedule, seeds),
    "untrained": [train.untrained(config, s) for s in seeds],
}
nets["trained"] = [r.model for r in nets["trained"]]
acts = {k: [features.extract(net, digits.x_test, layers) for net in v] for k, v in nets.items()}
pairs = list(itertools.permutations(range(len(seeds)), 2))
print(f"seeds {seeds}: {len(pairs) // 2} pairs of networks")

# %%
# Matching single units
# ---------------------
# For every :term:`channel` of network A, its best-correlated channel of network B (every pixel
# position of every test image counts as a sample), and the one-to-one pairing that maximises
# the total correlation (as :func:`layerwise.neurons.match_units` does; here both directions of
# a pair come from one correlation matrix, :func:`layerwise.neurons.unit_correlations`).
#
# Pairs of seeds share networks, so they are not independent. The intervals are over seeds:
# each seed's value is the mean over the pairs it belongs to (its units matched to each other
# seed's), and those per-seed means get a t interval.


def per_seed(values):
    """A dict {(a, b): value} over ordered pairs -> Runs of each seed's mean over its pairs."""
    return stats.Runs(
        [
            np.mean([values[(a, b)] for b in range(len(seeds)) if b != a])
            for a in range(len(seeds))
        ],
        seeds,
    )


best, one_to_one = {}, {}
for kind, name in itertools.product(acts, layers):
    best[kind, name], one_to_one[kind, name] = {}, {}
    for a, b in pairs:
        if a > b:
            continue
        corr = neurons.unit_correlations(acts[kind][a][name], acts[kind][b][name])
        best[kind, name][a, b] = corr.max(dim=1).values.numpy()  # each unit of a, its best in b
        best[kind, name][b, a] = corr.max(dim=0).values.numpy()  # and the other way round
        rows, cols = linear_sum_assignment(corr.numpy(), maximize=True)
        one_to_one[kind, name][a, b] = corr.numpy()[rows, cols]
unit_match = {
    (kind, name): per_seed({p: v.mean() for p, v in best[kind, name].items()})
    for kind, name in best
}
for name in layers:
    bb = np.concatenate(list(best["trained", name].values()))
    oo = np.concatenate(list(one_to_one["trained", name].values()))
    print(
        f"{name}: best-match correlation, mean over units: trained "
        f"{unit_match['trained', name]}, untrained {unit_match['untrained', name]}; trained "
        f"units above 0.9: {(bb > 0.9).mean():.0%} best match, {(oo > 0.9).mean():.0%} one-to-one"
    )


# %%
# Comparing whole layers
# ----------------------
# Linear CKA between the same layer of two networks, with the debiased estimator
# (:func:`layerwise.similarity.cka`). :term:`Feature maps <feature map>` are flattened: one row per
# image. Linear CKA depends on the activations only through their Gram matrix (image x image), so
# each layer's activations are first replaced by a square matrix with the same Gram matrix (from
# its eigendecomposition), which makes the many comparisons below cheap without changing them.
def compact(x):
    x = x.flatten(1).double()
    if x.shape[1] <= x.shape[0]:
        return x
    values, vectors = torch.linalg.eigh(x @ x.T)  # x x^T = V diag(values) V^T
    return vectors * values.clamp_min(0).sqrt()


flat = {k: [{n: compact(a[n]) for n in layers} for a in v] for k, v in acts.items()}
layer_cka = {}
for kind, name in itertools.product(acts, layers):
    values = {}
    for a, b in pairs:
        if (b, a) in values:
            values[a, b] = values[b, a]  # CKA is symmetric
        else:
            values[a, b] = similarity.cka(flat[kind][a][name], flat[kind][b][name], debiased=True)
    layer_cka[kind, name] = per_seed(values)
for name in layers:
    print(
        f"{name}: CKA across seeds, trained {layer_cka['trained', name]}, "
        f"untrained {layer_cka['untrained', name]}"
    )
# Across different layers of two trained networks (A the lower seed), averaged over all pairs.
cross = np.array(
    [
        [
            np.mean(
                [
                    similarity.cka(flat["trained"][a][p], flat["trained"][b][q], debiased=True)
                    for a, b in pairs
                    if a < b
                ]
            )
            for q in layers
        ]
        for p in layers
    ]
)
print("linear CKA, layer of network A (rows) vs layer of network B (columns), trained:")
print(np.array2string(cross, precision=3))

# %%
# The picture
# -----------
# Left: how well single units match across seeds; middle: how well whole layers match; both for
# trained and untrained networks (mean over seeds, 95 % interval over seeds). Right: every layer
# of one trained network against every layer of another.
fig, axes = plt.subplots(1, 3, figsize=(12, 3.9), layout="constrained")
x = np.arange(len(layers))
for k, kind in enumerate(acts):
    for ax, measure in zip(axes[:2], (unit_match, layer_cka), strict=True):
        measured = [measure[kind, n] for n in layers]
        plot.bar(ax, x + 0.2 * (2 * k - 1), measured, 0.4, label=kind, color=f"C{k}")
axes[0].set(ylabel="best-match correlation of a unit", title="Single units")
axes[1].set(ylabel="CKA across seeds (debiased)", title="Whole layers")
for ax in axes[:2]:
    ax.set(xticks=x, xticklabels=layers, ylim=(0, 1))
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
im = axes[2].imshow(cross, vmin=0, vmax=1, cmap="viridis")
axes[2].set(xticks=x, xticklabels=layers, yticks=x, yticklabels=layers)
axes[2].set(xlabel="network B", ylabel="network A")
axes[2].set_title("Trained, layer vs layer (CKA)")
for i in range(len(layers)):
    for j in range(len(layers)):
        shade = "k" if cross[i, j] > 0.6 else "w"
        axes[2].text(j, i, f"{cross[i, j]:.2f}", ha="center", va="center", color=shade)
plt.show()

# %%
# The claims
# ----------
# Each seed's value averaged over the three layers, then compared seed by seed.


def over_layers(measure, kind):
    return stats.Runs(np.mean([measure[kind, n].array for n in layers], axis=0), seeds)


stats.claim(
    "Whole layers of networks trained from different seeds are more alike than those of "
    "untrained networks: CKA across seeds, trained minus untrained (mean over the three layers)",
    stats.paired(over_layers(layer_cka, "trained"), over_layers(layer_cka, "untrained")),
    above=0,
)
stats.claim(
    "Training does not make single units of different seeds match better than the units of "
    "untrained networks do: best-match correlation, trained minus untrained (mean over the three "
    "layers), within +-0.1",
    stats.paired(over_layers(unit_match, "trained"), over_layers(unit_match, "untrained")),
    above=-0.1,
    below=0.1,
)
stats.claim(
    "Single units match across seeds worse than whole layers: layer CKA minus a unit's "
    "best-match correlation, trained networks (mean over the three layers)",
    stats.paired(over_layers(layer_cka, "trained"), over_layers(unit_match, "trained")),
    above=0,
)

# %%
# What it shows
# -------------
# A unit's best-match correlation says how close a partner it has in the other network. Some
# units have one, in the first layer, where the useful :term:`filters <filter>` for these images
# are few; in the deeper layers none do, and the one-to-one pairing, which forbids two units from
# claiming the same partner, finds fewer still. Training does not change that: units of untrained
# networks from different seeds find partners about as well, so a unit's best match says little
# about what it learned. Whole layers, measured by CKA, are far more alike than their units. CKA is
# high even between untrained networks (the same images pass through similar random maps), and
# training made the layers of different seeds more alike than that baseline (the first claim). Each
# layer is most similar to the same layer of the other network. So nothing guarantees what one
# particular neuron learns: the same information can be spread over the units in many rotated or
# mixed ways, and which one the training finds depends on the seed. What is reproducible is the
# representation of the layer as a whole.
