"""
Each hidden unit finds a niche
==============================

Four classes of points in the plane, and a network with only two hidden units. Two straight
lines are enough to separate the four groups, so each unit has to take one of them. Which unit
takes which line, and does each unit take the job nearest to where it started? We train the
same network from many seeds, draw each unit's line, and compare each unit's final weights with
the starting weights of every unit.

:Predict first: Two hidden units, and a task that needs two lines: do the units split the work,
   and what decides which part each takes?
"""

# %%
# The task and the network
# ------------------------
# :func:`layerwise.data.four_clusters` puts one class in each quadrant. The network is
# 2 inputs -> 2 tanh units -> 4 outputs. A tanh unit splits the plane along the line where its
# weighted sum is zero: that line is the unit's decision line.
import matplotlib.pyplot as plt
import numpy as np
import torch

from layerwise import data, models, runtime, stats, train

points = data.four_clusters(n_train=400, n_test=400, spread=0.35)
config = models.MLPConfig(in_features=2, hidden=(2,), num_classes=4, activation="tanh")
schedule = train.Schedule(epochs=runtime.pick(quick=20, default=150, full=300), lr=0.05)
seeds = runtime.seeds(20)
print(points)
print(config)

results = dict(
    zip(seeds, train.fit_seeds(config, points, schedule, seeds, verbose=False), strict=True)
)
starts = {s: train.initial_state(config, s) for s in seeds}

# %%
# Which split did each unit choose?
# ---------------------------------
# A unit's line divides the four class centres into two groups. We name the split by the
# classes on the positive side.
centres = torch.stack([points.x_train[points.y_train == c].mean(0) for c in range(4)])


def split_of(model, unit):
    w, b = model.fc1.weight[unit].detach().cpu(), model.fc1.bias[unit].detach().cpu()
    positive = (centres @ w + b) > 0
    side = [points.classes[c] for c in range(4) if positive[c]]
    return "{" + ", ".join(side) + "}"


for s, r in results.items():
    splits = [split_of(r.model, u) for u in (0, 1)]
    print(
        f"seed {s}: test accuracy {r.test_accuracy:.3f}; unit 0 puts {splits[0]} on its positive "
        f"side, unit 1 puts {splits[1]}"
    )
accuracy = stats.Runs([r.test_accuracy for r in results.values()], seeds)
print(f"test accuracy over {len(seeds)} seeds: {accuracy}, lowest {min(accuracy.values):.3f}")

# A unit "takes a line" when its split is left/right or top/bottom (two classes on each side).
left_right = {"{(+,-), (+,+)}", "{(-,-), (-,+)}"}
top_bottom = {"{(-,+), (+,+)}", "{(-,-), (+,-)}"}
divided = [
    {split_of(r.model, u) in left_right for u in (0, 1)} == {True, False}
    and any(split_of(r.model, u) in top_bottom for u in (0, 1))
    for r in results.values()
]
print(f"seeds whose two units took the two different lines: {sum(divided)} of {len(seeds)}")

# %%
# Nearest to where it started?
# ----------------------------
# Each unit's weight vector (its two input weights and its bias) before and after training. For
# each unit we measure the angle between its final vector and its own initial vector, and the
# angle between its final vector and the *other* unit's initial vector. If the gradient pushes
# each unit towards the job nearest to where it started, the first angle is the smaller one. With
# two units, chance is one half. The share is computed per seed (0, 1/2 or 1) and its interval
# is over seeds, since the two units of one network are not independent.


def unit_vectors(state):
    return torch.cat([state["fc1.weight"], state["fc1.bias"][:, None]], dim=1).double()


def angles(a, b):
    """Angle in degrees between every row of ``a`` and every row of ``b``."""
    a = a / a.norm(dim=1, keepdim=True)
    b = b / b.norm(dim=1, keepdim=True)
    return torch.rad2deg(torch.arccos((a @ b.T).clamp(-1, 1)))


own, other, nearest = [], [], []
for s, r in results.items():
    final = unit_vectors({k: v.cpu() for k, v in r.model.state_dict().items()})
    table = angles(final, unit_vectors(starts[s]))  # final unit (rows) vs initial unit
    own.append(table.diagonal().numpy())
    other.append(table.flip(1).diagonal().numpy())
    nearest.append((table.diagonal() < table.flip(1).diagonal()).double().mean().item())
own, other = np.concatenate(own), np.concatenate(other)
nearest = stats.Runs(nearest, seeds)
print(
    f"angle from a unit's final weights to its own start: median {np.median(own):.0f} degrees; "
    f"to the other unit's start: median {np.median(other):.0f} degrees"
)
print(f"share of units nearest to their own start (per seed, chance 0.5): {nearest}")

# %%
# The lines, seed by seed
# -----------------------
# The first eight seeds. Background colour: the class the network predicts. Solid line: unit 0;
# dashed line: unit 1.
grid = torch.linspace(-2.5, 2.5, 200)
gx, gy = torch.meshgrid(grid, grid, indexing="xy")
plane = torch.stack([gx.flatten(), gy.flatten()], dim=1)
ncols = 4
shown = seeds[:8]
nrows = int(np.ceil(len(shown) / ncols))
fig, axes = plt.subplots(nrows, ncols, figsize=(10, 2.6 * nrows), layout="constrained")
colours = plt.get_cmap("tab10").colors[:4]
for ax, s in zip(axes.flat, shown, strict=False):
    r = results[s]
    net = r.model.cpu()  # trained where the build runs (a GPU, say); drawn here
    with torch.no_grad():
        pred = net(plane).argmax(1).view(200, 200).numpy()
    ax.contourf(gx, gy, pred, levels=np.arange(-0.5, 4), colors=colours, alpha=0.25)
    sample = points.x_test[:200]
    ax.scatter(*sample.T, c=[colours[c] for c in points.y_test[:200]], s=5)
    w, b = net.fc1.weight.detach().numpy(), net.fc1.bias.detach().numpy()
    xs = np.array([-2.5, 2.5])
    for unit, style in ((0, "-"), (1, "--")):
        if abs(w[unit, 1]) > abs(w[unit, 0]):
            ax.plot(xs, -(w[unit, 0] * xs + b[unit]) / w[unit, 1], "k" + style, lw=1.5)
        else:
            ax.plot(-(w[unit, 1] * xs + b[unit]) / w[unit, 0], xs, "k" + style, lw=1.5)
    ax.set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), xticks=[], yticks=[], aspect="equal")
    ax.set_title(f"seed {s}: {r.test_accuracy:.0%}", fontsize=9)
for ax in axes.flat[len(shown) :]:
    ax.axis("off")
fig.suptitle("Two hidden units, four classes: each unit draws one line (solid: unit 0)")
plt.show()

# %%
# Where each unit went
# --------------------
# Every unit of every seed: the angle from its final weights to its own start against the
# angle to the other unit's start. Points below the diagonal ended nearer to their own start.
fig, ax = plt.subplots(figsize=(4.6, 4.2), layout="constrained")
ax.scatter(other, own, s=14, alpha=0.7)
ax.plot([0, 180], [0, 180], "k--", lw=1, label="equally near both starts")
ax.set(xlim=(0, 180), ylim=(0, 180), aspect="equal")
ax.set(
    xlabel="angle to the other unit's start (degrees)", ylabel="angle to its own start (degrees)"
)
ax.set_title(f"{len(own)} units, {len(seeds)} seeds")
ax.legend(loc="upper left", fontsize=8)
plt.show()

# %%
# The claims
# ----------
stats.claim(
    "Two hidden units split the task between them: share of seeds whose units took the two "
    "different lines (left/right and top/bottom)",
    stats.proportion(sum(divided), len(seeds)),
    above=0.5,
)
stats.claim(
    "Each unit ends nearer to its own starting weights than to the other unit's: share of "
    "units, per seed (chance 0.5)",
    nearest,
    above=0.5,
)

# %%
# What it shows
# -------------
# The two units divide the work: one line separates left from right, the other top from bottom
# (the first claim gives the share of seeds), and the networks reach the test accuracy printed
# above. But *which* unit does which, and on which side it is positive, changes from seed to
# seed (see the printed splits): the task only needs the two lines to exist, and the random
# start decides which unit drifts towards which. The measured angles say how: a unit ends nearer
# to its own starting weights than to its neighbour's far more often than the one time in two
# that chance would give (the second claim), so the job a unit takes is mostly the one nearest to
# where it started. The function the network computes is the same (the accuracies); the role of
# a particular unit is not. That is the honest answer to "how does each neuron find its niche":
# the units start different, the gradient moves each towards the part of the job nearest to its
# start, and once one unit does a job, the error it leaves behind no longer asks the other to do
# it.
