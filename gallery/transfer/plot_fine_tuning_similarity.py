"""
What changes in fine-tuning
===========================

On :ref:`sphx_glr_auto_examples_transfer_plot_layer_transfer.py`, the ``AnB+`` networks start
with every block of the network trained on A and are then fine-tuned on B. How far does each
block move? Weights are a poor ruler (two networks can compute the same thing with permuted
:term:`filters <filter>`), so we compare what the blocks *compute*: the centred kernel alignment
(:term:`CKA`, :cite:`kornblith2019similarity`) between a block's outputs before and after
fine-tuning, on the same signals.

:Predict first: When a network is fine-tuned on a new task, which blocks change most: the first
   or the last?
"""

# %%
# The networks of the layer-transfer page
# ---------------------------------------
# Same data, split, configuration and schedules as on that page, with its five seeds and ten
# more (a seed costs a few seconds; the differences between blocks are small, so this page needs
# more than the minimum of five), so most of the trained networks below come from the model
# cache: base A (before), ``AnB+`` with all six blocks copied from it and fine-tuned on B's few
# labels (after), and base B, trained on those labels from scratch and from other initial
# weights. A CKA value alone has no scale: two *untrained* networks already agree to some
# degree, because they see the same inputs. So the page measures the same CKA between the
# untrained starting points of base A and base B (two seeds), the random-network baseline.
import matplotlib.pyplot as plt
import numpy as np

from layerwise import features, plot, runtime, similarity, stats, train, transfer, zoo

halves = zoo.mnist1d_halves()
config = halves.config
depth = config.depth
blocks = [f"pool{i}" if config.pools[i - 1] else f"relu{i}" for i in range(1, depth + 1)]
x = halves.b.x_test
seeds = runtime.seeds(15)
print(f"block outputs compared: {', '.join(blocks)} on {len(x)} test signals of B")

# %%
# CKA block by block
# ------------------
# :func:`layerwise.similarity.cka` (linear kernel) between the outputs of each block. 1 means
# the block computes the same thing up to a rotation and scaling of its feature space.
pairs = (
    "base A vs itself fine-tuned on B",
    "base A vs base B (trained separately)",
    "two untrained networks (baseline)",
)
cka = {p: np.zeros((len(seeds), depth)) for p in pairs}
for j, seed in enumerate(seeds):
    b = halves.b_labelled(seed)
    base_a, base_b = transfer.fit_bases(
        config, halves.a, b, halves.base_schedule, halves.schedule, seed=seed
    )
    tuned = transfer.fit_transfer(
        config,
        base_a.model,
        b,
        depth,
        halves.fine_tune,
        fine_tune=True,
        seed=seed + transfer.SEED_OFFSET,
    ).model
    cfg = base_a.model.config  # with A's number of classes
    inits = [train.untrained(cfg, transfer.base_seed(h, seed)) for h in "AB"]
    models = {
        pairs[0]: (base_a.model, tuned),
        pairs[1]: (base_a.model, base_b.model),
        pairs[2]: tuple(inits),
    }
    for p, (m1, m2) in models.items():
        out1, out2 = (
            features.extract(m, x.to(next(m.parameters()).device), blocks) for m in (m1, m2)
        )
        for i, name in enumerate(blocks):
            cka[p][j, i] = similarity.cka(out1[name].cpu(), out2[name].cpu())

runs = {p: [stats.Runs(cka[p][:, i], seeds) for i in range(depth)] for p in pairs}
for p in pairs:
    print(f"{p:>40}: " + "  ".join(f"{r.mean:.2f}" for r in runs[p]))

# %%
# Each line is the mean over seeds with its 95 % interval.
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
pos = np.arange(1, depth + 1)
for (p, color, marker), dx in zip(
    ((pairs[0], "C3", "o"), (pairs[1], "C0", "s"), (pairs[2], "0.5", "^")),
    (-0.06, 0, 0.06),
    strict=True,
):
    plot.errorbar(ax, pos + dx, runs[p], color=color, marker=marker, label=p)
ax.set_xticks(pos, [f"block {i}" for i in pos])
ax.set_ylim(0, 1.05)
ax.set_ylabel("linear CKA on B's test signals")
ax.set_title("How much of each block of base A survives fine-tuning on B")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %%
# What it shows
# -------------
# Three comparisons, each paired over seeds: does fine-tuning move the last block more than the
# first? Is the fine-tuned last block still closer to base A than an independently trained
# network is? And the scale of the ruler: how alike are two untrained networks at block 1?
kept, apart, untrained = (runs[p] for p in pairs)
moved_late = stats.paired(kept[0], kept[-1])
over_trained = stats.paired(kept[-1], apart[-1])
print(f"CKA kept, block 1 minus block {depth}: {moved_late}")
print(f"block {depth}: fine-tuned vs base A minus base B vs base A: {over_trained}")
print(f"block 1: two untrained networks: {untrained[0]}")
for i in range(depth):
    print(
        f"block {i + 1}: fine-tuned minus untrained baseline "
        f"{stats.paired(kept[i], untrained[i])}; separately trained minus untrained baseline "
        f"{stats.paired(apart[i], untrained[i])}"
    )

stats.claim(
    f"Fine-tuning changes the last block of base A more than the first: linear CKA with the "
    f"start, block 1 minus block {depth}",
    moved_late,
    above=0,
)
stats.claim(
    f"After fine-tuning, block {depth} is still closer to base A than a network trained on B "
    "from scratch is (CKA difference)",
    over_trained,
    above=0,
)
stats.claim(
    "Two untrained networks of different seeds already have a linear CKA above 0.5 at block 1",
    untrained[0],
    above=0.5,
)

# %%
# Fine-tuning at a third of the learning rate leaves the first block almost as it was and moves
# the later blocks further (first claim), in line with :cite:`kornblith2019similarity`'s report
# that networks trained on related tasks are similar in early layers and diverge in late ones.
# Read against the grey baseline, the picture is more modest. Linear CKA between the outputs of
# the first block is high even for two untrained networks (third claim), and base A and base B,
# trained separately, are only slightly more alike than two untrained networks at block 1 and
# not measurably more alike beyond it (printed per block above; the baseline varies a lot from
# one pair of seeds to the next). So "early
# blocks change least" is partly a property of the ruler: the early blocks of any two networks
# look alike. What the baselines do show is that fine-tuning keeps the last block far closer to
# where it started than a separately trained network gets (second claim): what fine-tuning
# preserves is specific to base A, not what every network of this kind learns.
