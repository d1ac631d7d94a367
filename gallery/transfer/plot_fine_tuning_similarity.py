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
import torch

from layerwise import data, features, models, runtime, similarity, train, transfer

patches = data.photo_patches(
    size=16,
    n_train=runtime.pick(quick=360, default=1200, full=12000),
    n_test=runtime.pick(quick=240, default=1200, full=3000),
)
order = torch.randperm(patches.num_classes, generator=torch.Generator().manual_seed(0)).tolist()
data_a, data_b = patches.select_classes(order[:6]), patches.select_classes(order[6:])
config = models.CNNConfig(
    in_channels=3,
    widths=runtime.pick(quick=(8, 16, 32), default=(8, 16, 32), full=(32, 64, 128)),
)
schedule = train.TrainConfig(
    epochs=runtime.pick(quick=2, default=5, full=15), batch_size=32, lr=3e-3
)
seeds = range(runtime.pick(quick=1, default=3, full=5))
blocks = [f"pool{i}" for i in range(1, config.depth + 1)]


def fit_base(d, seed):
    cfg = models.CNNConfig(**{**vars(config), "num_classes": d.num_classes})
    return train.fit(cfg, d, schedule, seed=seed, verbose=False).model.cpu()


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
    base_a, base_b = fit_base(data_a, seed), fit_base(data_b, seed)
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
# Each thin line is one seed, the thick line their mean; the printed table gives the numbers.
# Read the red curve from left to right: how much of what each block computed survives
# fine-tuning. The grey curve is the scale: two networks trained on different class sets from
# different random starts. :cite:`kornblith2019similarity` report that networks trained on related
# tasks are similar in early layers and diverge in late ones; the question here is whether the
# same holds for one network before and after it is fine-tuned.
