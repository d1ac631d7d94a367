"""
What changes in fine-tuning
===========================

On :ref:`sphx_glr_auto_examples_transfer_plot_layer_transfer.py`, the ``AnB+`` networks start
with every block of the network trained on A and are then fine-tuned on B. How far does each
block move? Weights are a poor ruler (two networks can compute the same thing with permuted
filters), so we compare what the blocks *compute*: the centred kernel alignment (CKA,
:cite:`kornblith2019similarity`) between a block's outputs before and after fine-tuning, on the
same images.
"""

# %%
# The networks of the layer-transfer page
# ---------------------------------------
# Same data, split, configuration and seeds as on that page, so every network below is loaded
# from the model cache: base A (before), ``AnB+`` with all three blocks copied (after
# fine-tuning), and, for scale, base B, a network trained on B from scratch.
import matplotlib.pyplot as plt
import numpy as np

from layerwise import features, similarity, transfer, zoo

halves = zoo.photo_halves("random")
data_a, data_b, config, schedule = halves.a, halves.b, halves.config, halves.schedule
seeds = halves.seeds
blocks = [f"pool{i}" for i in range(1, config.depth + 1)]


# %%
# CKA block by block
# ------------------
# :func:`layerwise.similarity.cka` (linear kernel) between the outputs of each block on B's
# test images. 1 means the block computes the same thing up to a rotation and scaling of its
# feature space.
x = data_b.x_test
before_after = np.zeros((len(seeds), len(blocks)))
scratch = np.zeros((len(seeds), len(blocks)))
for j, seed in enumerate(seeds):
    base_a, base_b = (
        transfer.fit_base(config, d, schedule, seed=seed).model.cpu() for d in (data_a, data_b)
    )
    tuned = transfer.fit_transfer(
        config,
        base_a,
        data_b,
        config.depth,
        schedule,
        fine_tune=True,
        seed=seed + transfer.SEED_OFFSET,
    ).model.cpu()
    out_a, out_tuned, out_b = (features.extract(m, x, blocks) for m in (base_a, tuned, base_b))
    for i, name in enumerate(blocks):
        before_after[j, i] = similarity.cka(out_a[name], out_tuned[name])
        scratch[j, i] = similarity.cka(out_a[name], out_b[name])

print(f"{'block':>6} {'A before vs after fine-tuning':>30} {'A vs B from scratch':>22}")
for i, name in enumerate(blocks):
    print(
        f"{name:>6} {before_after[:, i].mean():>22.3f} +- {before_after[:, i].std():.3f}"
        f" {scratch[:, i].mean():>14.3f} +- {scratch[:, i].std():.3f}"
    )

# %%
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
pos = np.arange(1, len(blocks) + 1)
for values, color, label in (
    (before_after, "C3", "base A vs the same network fine-tuned on B"),
    (scratch, "0.4", "base A vs base B (trained on B from scratch)"),
):
    for row in values:
        ax.plot(pos, row, color=color, alpha=0.3, lw=1)
    ax.plot(pos, values.mean(0), "o-", color=color, lw=2, label=label)
ax.set_xticks(pos, [f"block {i}" for i in pos])
ax.set_ylim(0, 1.02)
ax.set_ylabel("linear CKA on B's test images")
ax.set_title("How much of each block of base A survives fine-tuning on B")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %%
# What it shows
# -------------
# Each thin line is one seed, the thick line their mean. The lines below read the two curves
# from this run: how much of each block survives fine-tuning, and whether that is more than two
# networks trained separately share anyway (a difference counts where it exceeds the spread
# over seeds of both curves added).
kept, shared = before_after.mean(0), scratch.mean(0)
noise = before_after.std(0) + scratch.std(0)
print(
    "fine-tuning keeps "
    + ", ".join(f"{k:.2f} of block {i}" for i, k in enumerate(kept, start=1))
    + f" (linear CKA): the {'early' if kept[0] > kept[-1] else 'late'} blocks move least"
)
for i, (k, sh, nz) in enumerate(zip(kept, shared, noise, strict=True), start=1):
    relation = "more than" if k - sh > nz else "less than" if sh - k > nz else "about as much as"
    print(
        f"block {i}: after fine-tuning, base A keeps {relation} it shares with a network "
        f"trained on B from scratch ({k:.2f} vs {sh:.2f})"
    )

# %%
# :cite:`kornblith2019similarity` report that networks trained on related tasks are similar in
# early layers and diverge in late ones; the first line says whether the same gradient holds
# within one network during fine-tuning. The comparison
# with the grey curve is the sobering part. Fine-tuning here uses the same learning rate and
# number of epochs as training from scratch, and where the block-by-block lines say "about as
# much as", fine-tuning has moved base A as far from itself as an independently trained network
# is: the block is kept because every network of this kind learns such a block, not because
# fine-tuning preserved the one it started with. Fine-tuning with a smaller learning rate, as is
# usual in practice, would keep more; try ``dataclasses.replace(schedule, lr=3e-4)`` above.
