"""
Why random initialisation: identical neurons stay identical
===========================================================

Every unit of a layer is updated by the same rule, from the same data. What makes them end up
different? Here the same small network is trained twice on handwritten digits: once with every
unit of its hidden layer starting from *the same* weights, once from the usual random weights.
We follow how similar the units are to each other during training.
"""

# %%
# Two starts for one network
# --------------------------
# A dense network with one hidden layer of 16 tanh units, on scikit-learn's 8x8 digits. (A
# tanh unit cannot "die" the way a ReLU unit can when its input is negative for every image, so
# the clones really train rather than sitting still.) For the
# symmetric start, :func:`layerwise.neurons.clone_units` copies unit 0's incoming weights and
# bias to every hidden unit, and gives every hidden unit the same outgoing weights. Both
# versions are trained with plain SGD, one epoch at a time, so we can look at the weights after
# each epoch.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, neurons, runtime, train

digits = data.digits()
config = models.MLPConfig(in_features=64, hidden=(16,), num_classes=10, activation="tanh")
epochs = runtime.pick(quick=3, default=20, full=40)
seed = 0

runtime.seed_everything(seed)
random_start = config.build().state_dict()
runtime.seed_everything(seed)
cloned_start = neurons.clone_units(config.build(), "fc1", "out").state_dict()
print(digits)
print(config)


def train_epoch_by_epoch(start):
    """Train one epoch at a time; return the hidden weights after each epoch and the accuracy."""
    one_epoch = train.TrainConfig(
        epochs=1, batch_size=64, lr=0.05, optimizer="sgd", schedule="constant", weight_decay=0
    )
    state, snapshots, accuracy = start, [start["fc1.weight"].clone()], []
    for epoch in range(epochs):
        result = train.fit(
            config, digits, one_epoch, seed=seed + epoch, init_state=state, verbose=False
        )
        state = {k: v.detach().cpu().clone() for k, v in result.model.state_dict().items()}
        snapshots.append(state["fc1.weight"])
        accuracy.append(result.test_accuracy)
    return snapshots, accuracy


runs = {"identical start": train_epoch_by_epoch(cloned_start)}
runs["random start"] = train_epoch_by_epoch(random_start)

# %%
# Do the clones stay clones?
# --------------------------
# The largest difference between any two hidden units' weights, and the mean cosine similarity
# over all pairs of units (:func:`layerwise.neurons.unit_similarity`), after each epoch.


def mean_pairwise(w):
    sim = neurons.unit_similarity(w)
    off = ~torch.eye(len(sim), dtype=torch.bool)
    return sim[off].mean().item()


for name, (snapshots, accuracy) in runs.items():
    final = snapshots[-1]
    spread = (final - final[:1]).abs().max().item()
    moved = (final - snapshots[0]).abs().max().item()
    print(
        f"{name} (seed {seed}): after {epochs} epochs, largest weight difference between units "
        f"{spread:.2e}, mean pairwise cosine similarity {mean_pairwise(final):.3f}, "
        f"largest change of a weight during training {moved:.2f}, "
        f"test accuracy {accuracy[-1]:.3f}"
    )

fig, (ax_sim, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
for name, (snapshots, accuracy) in runs.items():
    ax_sim.plot([mean_pairwise(w) for w in snapshots], marker="o", ms=3, label=name)
    ax_acc.plot(np.arange(1, epochs + 1), accuracy, marker="o", ms=3, label=name)
ax_sim.set(xlabel="epoch", ylabel="mean cosine similarity between units", ylim=(-0.1, 1.05))
ax_sim.set_title("Identical units stay identical")
ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1))
ax_acc.set_title("16 clones are worth one unit")
ax_sim.legend()
plt.show()

# %%
# Who resembles whom
# ------------------
# The similarity of every pair of hidden units after training, and the incoming weights of six
# units drawn as 8x8 images.
fig, axes = plt.subplots(2, 7, figsize=(11, 3.6), layout="constrained")
for row, (name, (snapshots, _)) in zip(axes, runs.items(), strict=True):
    w = snapshots[-1]
    im = row[0].imshow(neurons.unit_similarity(w).numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    row[0].set_title(f"{name}:\nunit similarity", fontsize=9)
    for ax, unit in zip(row[1:], range(6), strict=True):
        lim = w[unit].abs().max().item()
        ax.imshow(w[unit].view(8, 8).numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"unit {unit}", fontsize=9)
    for ax in row:
        ax.set_xticks([])
        ax.set_yticks([])
fig.colorbar(im, ax=axes[:, 0], shrink=0.8, label="cosine")
plt.show()

# %%
# What it shows
# -------------
# With identical starting weights, every hidden unit computes the same value for every input,
# so the loss depends on each of them in the same way and each receives the same gradient. The
# printed weight difference stays at the level of floating-point rounding: the units are still
# clones after training, and the layer behaves like a single unit, which the accuracy shows.
# Nothing in gradient descent can break that tie. Random initialisation breaks it at the start:
# the units begin in different places, receive different gradients and end up as different
# detectors. That is the whole reason networks are initialised randomly, and the first part of
# the answer to "why does each neuron find its own niche?" The next page shows how they divide
# the work.
