"""
Each hidden unit finds a niche
==============================

Four classes of points in the plane, and a network with only two hidden units. Two straight
lines are enough to separate the four groups, so each unit has to take one of them. Which unit
takes which line? We train the same network from several seeds and draw each unit's line.
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

from layerwise import data, models, runtime, train

points = data.four_clusters(n_train=400, n_test=400, spread=0.35)
config = models.MLPConfig(in_features=2, hidden=(2,), num_classes=4, activation="tanh")
schedule = train.TrainConfig(epochs=runtime.pick(quick=20, default=150, full=300), lr=0.05)
seeds = list(range(runtime.pick(quick=4, default=8, full=16)))
print(points)
print(config)

results = {s: train.fit(config, points, schedule, seed=s, verbose=False) for s in seeds}

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
acc = np.array([r.test_accuracy for r in results.values()])
print(
    f"test accuracy over {len(seeds)} seeds: mean {acc.mean():.3f}, min {acc.min():.3f}, "
    f"max {acc.max():.3f}"
)

# %%
# The lines, seed by seed
# -----------------------
# Background colour: the class the network predicts. Solid line: unit 0; dashed line: unit 1.
grid = torch.linspace(-2.5, 2.5, 200)
gx, gy = torch.meshgrid(grid, grid, indexing="xy")
plane = torch.stack([gx.flatten(), gy.flatten()], dim=1)
ncols = 4
nrows = int(np.ceil(len(seeds) / ncols))
fig, axes = plt.subplots(nrows, ncols, figsize=(10, 2.6 * nrows), layout="constrained")
colours = plt.get_cmap("tab10").colors[:4]
for ax, (s, r) in zip(axes.flat, results.items(), strict=False):
    with torch.no_grad():
        pred = r.model(plane).argmax(1).view(200, 200).numpy()
    ax.contourf(gx, gy, pred, levels=np.arange(-0.5, 4), colors=colours, alpha=0.25)
    sample = points.x_test[:200]
    ax.scatter(*sample.T, c=[colours[c] for c in points.y_test[:200]], s=5)
    w, b = r.model.fc1.weight.detach().numpy(), r.model.fc1.bias.detach().numpy()
    xs = np.array([-2.5, 2.5])
    for unit, style in ((0, "-"), (1, "--")):
        if abs(w[unit, 1]) > abs(w[unit, 0]):
            ax.plot(xs, -(w[unit, 0] * xs + b[unit]) / w[unit, 1], "k" + style, lw=1.5)
        else:
            ax.plot(-(w[unit, 1] * xs + b[unit]) / w[unit, 0], xs, "k" + style, lw=1.5)
    ax.set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), xticks=[], yticks=[], aspect="equal")
    ax.set_title(f"seed {s}: {r.test_accuracy:.0%}", fontsize=9)
for ax in axes.flat[len(seeds) :]:
    ax.axis("off")
fig.suptitle("Two hidden units, four classes: each unit draws one line (solid: unit 0)")
plt.show()

# %%
# What it shows
# -------------
# In every run that solves the task the two units divide the work: one line separates left
# from right, the other top from bottom. But *which* unit does which, and on which side it is
# positive, changes from seed to seed (see the printed splits): the task only needs the two
# lines to exist, and the random start decides which unit drifts towards which. The function
# the network computes is the same (the accuracies); the role of a particular unit is not. That
# is the honest answer to "how does each neuron find its niche": the units start different,
# the gradient pushes each towards the part of the job nearest to where it started, and once
# one unit does a job, the error it leaves behind no longer asks the others to do it. A run
# that ends with lower accuracy shows the other possibility: both units settling on roughly the
# same line, a local optimum that random starts do not always avoid.
