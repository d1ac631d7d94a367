"""
Why random initialisation: identical neurons stay identical
===========================================================

Every unit of a layer is updated by the same rule, from the same data. What makes them end up
different (:term:`symmetry breaking`)? Here the same small network is trained twice on
handwritten digits, from several seeds: once with every unit of its hidden layer starting from
*the same* weights, once from the usual random weights. We follow how similar the units are to
each other during training.

:Predict first: What happens to a network whose hidden units all start with identical weights?
"""

# %%
# Two starts for one network
# --------------------------
# A dense network with one hidden layer of 16 tanh units, on scikit-learn's 8x8 digits. (A
# tanh unit cannot "die" the way a ReLU unit can when its input is negative for every image, so
# the clones really train rather than sitting still.) For each seed, the random start is the
# network :func:`layerwise.train.fit` starts from; for the symmetric start,
# :func:`layerwise.neurons.clone_units` copies unit 0's incoming weights and bias of that same
# network to every hidden unit, and gives every hidden unit the same outgoing weights. Both
# versions are trained with plain SGD on the same batches, one epoch at a time, so we can look
# at the weights after each epoch. The two starts of a seed are compared with each other
# (paired), over seeds.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, neurons, runtime, stats, train

# sphinx_gallery_thumbnail_number = 2
digits = data.digits()
config = models.MLPConfig(in_features=64, hidden=(16,), num_classes=10, activation="tanh")
epochs = runtime.pick(quick=3, default=20, full=40)
seeds = runtime.seeds(5)
print(digits)
print(config)


def starts(seed):
    """The random start of ``seed`` and the same network with its hidden units cloned."""
    random_start = train.initial_state(config, seed)
    net = config.build()
    net.load_state_dict(random_start)
    return {
        "identical start": neurons.clone_units(net, "fc1", "out").state_dict(),
        "random start": random_start,
    }


def train_epoch_by_epoch(start, seed):
    """Train one epoch at a time; return the hidden weights after each epoch and the accuracy."""
    one_epoch = train.Schedule(
        epochs=1, batch_size=64, lr=0.05, optimizer="sgd", lr_schedule="constant", weight_decay=0
    )
    state, snapshots, accuracy = start, [start["fc1.weight"].clone()], []
    for epoch in range(epochs):
        result = train.fit(
            config, digits, one_epoch, seed=1000 * seed + epoch, init_state=state, verbose=False
        )
        state = {k: v.detach().cpu().clone() for k, v in result.model.state_dict().items()}
        snapshots.append(state["fc1.weight"])
        accuracy.append(result.test_accuracy)
    return snapshots, accuracy


runs = {s: {name: train_epoch_by_epoch(w, s) for name, w in starts(s).items()} for s in seeds}
names = ["identical start", "random start"]

# %%
# Do the clones stay clones?
# --------------------------
# The largest difference between any two hidden units' weights, and the mean cosine similarity
# over all pairs of units (:func:`layerwise.neurons.unit_similarity`), after each epoch.


def mean_pairwise(w):
    sim = neurons.unit_similarity(w)
    off = ~torch.eye(len(sim), dtype=torch.bool)
    return sim[off].mean().item()


similarity = {
    name: np.array([[mean_pairwise(w) for w in runs[s][name][0]] for s in seeds]) for name in names
}
accuracy = {name: np.array([runs[s][name][1] for s in seeds]) for name in names}
spread = {
    name: stats.Runs(
        [(runs[s][name][0][-1] - runs[s][name][0][-1][:1]).abs().max().item() for s in seeds],
        seeds,
    )
    for name in names
}
moved = stats.Runs(
    [
        (runs[s]["identical start"][0][-1] - runs[s]["identical start"][0][0]).abs().max().item()
        for s in seeds
    ],
    seeds,
)
for name in names:
    print(
        f"{name}, after {epochs} epochs over seeds {seeds}: largest weight difference between "
        f"two units {max(spread[name].values):.2e} (worst seed); mean pairwise cosine "
        f"similarity {stats.Runs(similarity[name][:, -1], seeds)}; test accuracy "
        f"{stats.Runs(accuracy[name][:, -1], seeds)}"
    )
print(f"largest change of a cloned unit's weight during training: {moved}")

fig, (ax_sim, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
for k, name in enumerate(names):
    colour = f"C{k}"
    ax_sim.plot(similarity[name].T, color=colour, lw=0.6, alpha=0.5)
    ax_sim.plot(similarity[name].mean(0), color=colour, lw=2.2, label=f"{name} (mean)")
    ax_acc.plot(np.arange(1, epochs + 1), accuracy[name].T, color=colour, lw=0.6, alpha=0.5)
    ax_acc.plot(
        np.arange(1, epochs + 1),
        accuracy[name].mean(0),
        color=colour,
        lw=2.2,
        label=f"{name} (mean)",
    )
ax_sim.set(xlabel="epoch", ylabel="mean cosine similarity between units", ylim=(-0.1, 1.05))
ax_sim.set_title(f"Identical units stay identical ({len(seeds)} seeds)")
ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1))
ax_acc.set_title("16 clones are worth one unit")
ax_sim.legend(loc="center right")
for ax in (ax_sim, ax_acc):
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
plt.show()

# %%
# Who resembles whom
# ------------------
# For the first seed: the similarity of every pair of hidden units after training, and the
# incoming weights of six units drawn as 8x8 images.
fig, axes = plt.subplots(2, 7, figsize=(11, 3.6), layout="constrained")
for row, name in zip(axes, names, strict=True):
    w = runs[seeds[0]][name][0][-1]
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
# The claims
# ----------
stats.claim(
    "Hidden units that start identical are still identical after training: the largest weight "
    f"difference between two units (against a largest change of a weight during training of "
    f"{moved.mean:.2f}, mean over seeds)",
    spread["identical start"],
    below=1e-4,
)
stats.claim(
    "Units that start identical stay far more alike than units that start random: mean cosine "
    "similarity between units, identical start minus random start",
    stats.paired(
        stats.Runs(similarity["identical start"][:, -1], seeds),
        stats.Runs(similarity["random start"][:, -1], seeds),
    ),
    above=0.5,
)
stats.claim(
    "The random start learns the task far better: test accuracy, random start minus "
    "identical start",
    stats.paired(
        stats.Runs(accuracy["random start"][:, -1], seeds),
        stats.Runs(accuracy["identical start"][:, -1], seeds),
    ),
    above=0.1,
)

# %%
# What it shows
# -------------
# With identical starting weights, every hidden unit computes the same value for every input,
# so the loss depends on each of them in the same way and each receives the same gradient. The
# units' weights moved a long way during training, yet the largest difference between two of
# them stayed at the level of floating-point rounding, for every seed: the units are still
# clones, and the layer behaves like a single unit, which the accuracy shows. Nothing in
# gradient descent can break that tie. A random start breaks it before training begins: the
# units start in different places, receive different gradients and end up as different
# detectors, with far higher accuracy. Breaking this symmetry is one reason networks are
# initialised randomly (the *scale* of the random weights matters for other reasons, such as
# keeping signals from vanishing through many layers), and it is the first part of the answer to
# "why does each neuron find its own niche?" The next page shows how they divide the work.
