"""
Which layers settle first?
==========================

"Edges come first" is often told as a story about time: during training the lower layers find
their features early and the upper layers build on them later. Zeiler and Fergus
:cite:`zeiler2014visualizing` saw the lower layers of their network settle within a few
epochs and the upper ones only after many more, and Raghu et al. :cite:`raghu2017svcca`
measured the same bottom-up convergence with SVCCA. Here we measure it: while a network trains
we keep its weights after every epoch and ask, for each layer, how similar its representation
already is to the one it ends with.

:Predict first: During training, which layers reach their final form first: the early ones or
   the late ones?
"""

# %%
# The measurement
# ---------------
# :func:`layerwise.snapshots.fit_with_snapshots` trains a network exactly as
# :func:`~layerwise.train.fit` does (same seed, same batches, same result) and keeps its weights
# at the start of every epoch. For each snapshot we run a fixed set of test images through
# the network and compare each layer's output with the same layer's output in the trained
# network, with linear :term:`CKA` (:func:`layerwise.similarity.cka`): 1 means the two
# representations are the same up to a rotation and scaling, values near 0 mean unrelated. A layer
# has *settled* when its CKA with its own final state reaches 0.9.
#
# The claim, written before the run: the first block settles earlier than the last layer,
# measured per seed as the difference in the epoch at which each first reaches CKA 0.9 (paired
# by seed, five seeds), on two networks: the photo-patch CNN of the first chapter and a small
# CNN on handwritten digits.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import (
    data,
    features,
    models,
    plot,
    runtime,
    similarity,
    snapshots,
    stats,
    train,
    zoo,
)

# sphinx_gallery_thumbnail_number = 2
SETTLED = 0.9
seeds = runtime.seeds()
photo = zoo.photo_cnn()
digits = data.digits(size=16)
networks = {
    "photo CNN": (photo.config, photo.data, photo.schedule),
    "digits CNN": (
        models.CNNConfig(in_channels=1, num_classes=10, widths=(16, 32, 64)),
        digits,
        train.Schedule(epochs=runtime.pick(quick=3, default=15, full=30), batch_size=64),
    ),
}
layers = ["pool1", "pool2", "pool3", "fc"]
n_images = runtime.pick(quick=200, default=500, full=1000)

# %%
# Training with snapshots, and the CKA of every layer with its final state
# ------------------------------------------------------------------------
runs, curves = {}, {}
for name, (config, dataset, schedule) in networks.items():
    x = dataset.x_test[:n_images]
    runs[name] = [snapshots.fit_with_snapshots(config, dataset, schedule, seed=s) for s in seeds]
    curve = np.zeros((len(seeds), schedule.epochs + 1, len(layers)))  # seed, epoch, layer
    for i, run in enumerate(runs[name]):
        # The activations after each epoch (the weights come from the run's snapshots).
        acts = [features.extract(run.model_at(e, "cpu"), x, layers) for e in range(run.epochs + 1)]
        for j, layer in enumerate(layers):
            # Every epoch against the last; cka_matrix computes each kernel matrix once.
            per_epoch = [a[layer] for a in acts]
            curve[i, :, j] = similarity.cka_matrix(per_epoch, per_epoch[-1:])[:, 0]
    curves[name] = curve

# %%
# The curves, mean and 95 % interval over seeds:
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained", sharey=True)
for ax, (name, curve) in zip(axes, curves.items(), strict=True):
    epochs = np.arange(curve.shape[1])
    for j, layer in enumerate(layers):
        plot.band(ax, epochs, curve[:, :, j].T, ms=3, color=f"C{j}", label=layer)
    ax.axhline(SETTLED, color="grey", ls=":", lw=1)
    ax.set(xlabel="epoch", title=f"{name} ({len(seeds)} seeds)", ylim=(0, 1.02))
axes[0].set_ylabel("linear CKA with the layer's final state")
axes[1].legend(loc="lower right", title="layer")
fig.suptitle("How close each layer already is to where it ends (dotted: 0.9, 'settled')")
plt.show()

# %%
# The epoch at which each layer first reaches CKA 0.9, per seed:
settle = {}
for name, curve in curves.items():
    reached = curve >= SETTLED  # the last epoch always reaches 1
    settle[name] = reached.argmax(axis=1)  # (seed, layer): first epoch at or above 0.9
    for j, layer in enumerate(layers):
        print(f"{name:>10} {layer:>5}: settles at epoch {stats.Runs(settle[name][:, j])}")

for name in curves:
    stats.claim(
        f"{name}: the first block settles before the last layer (epoch reaching CKA "
        f"{SETTLED} with its final state, fc minus pool1, paired by seed)",
        stats.paired(settle[name][:, -1], settle[name][:, 0]),
        above=0,
        unit="epochs",
    )

# %%
# The first layer's filters as they form
# --------------------------------------
# Eight first-layer :term:`filters <filter>` of the photo CNN (seed 0) at a few epochs, each filter
# scaled to ±2.5 times its own RMS weight (:func:`layerwise.plot.filter_images`).
run = runs["photo CNN"][0]
shown = sorted({e for e in (0, 1, 2, 4, run.epochs // 2, run.epochs) if e <= run.epochs})
strip = torch.cat([run.states[e]["conv1.weight"][:8] for e in shown])
fig = plt.figure(figsize=(8, 1.15 * len(shown) + 0.4), layout="constrained")
grid = plot.filter_grid(strip, ncols=8, size=1.0, fig=fig, contrast="rms")
for row, epoch in enumerate(shown):
    fig.axes[row * 8].set_title(f"epoch {epoch}", fontsize=9, loc="left")
fig.suptitle("conv1 filters of the photo CNN after each number of epochs (rows)")
plt.show()

# %%
# What it shows
# -------------
# Both networks settle bottom-up, as Raghu et al. found with SVCCA: the first block reaches CKA
# 0.9 with its final state within the first epoch, the last layer only several epochs later
# (the printed epochs and the claims at the top give the numbers). Read the curves from
# epoch 0, though, which is the untrained control: the first block *starts* close to its
# final state, and in the
# digits network the first two blocks start above 0.9. An early layer's representation is
# mostly the input's own similarity structure passed through a few filters, so a random first
# layer already resembles a trained one by this measure, while the last layer starts far from
# its final state and has the most to learn. The filter strip shows the other side: the
# weights of conv1 change completely in the first few epochs (random colour noise at epoch 0,
# smooth edges and colour blobs by epoch 4) and then hardly change again, so the lower layer
# is also where the *weights* find their final form first.
#
# "Edges come first" therefore holds in time here, in this sense: the first layer's features
# form in the first epochs and stay, and the upper layers keep moving until late in training.
