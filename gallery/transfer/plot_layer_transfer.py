"""
Layer-by-layer transfer
=======================

How general is each layer? :cite:`yosinski2014transferable` answered with one experiment: split
the classes of a dataset into two halves A and B, train a network on each, then build new
networks for B whose first *n* layers are copied from the network trained on A (:term:`AnB`) or on
B itself (``BnB``), frozen or fine-tuned (``+``). If block *n* of the A network still works
for B, its features are general; if accuracy falls, they were specific to A. This page runs the
experiment with a six-block 1-D CNN on MNIST-1D, small enough to train on a CPU many times over.

:Predict first: Copy the first n blocks of a network trained on five digits to learn five
   others: up to which block do its features carry over?
"""

# %%
# Two halves of MNIST-1D
# ----------------------
# MNIST-1D (:func:`layerwise.data.mnist1d`) draws the ten digits as signals of 40 samples. As
# in the paper, a random split gives five digits to A and the other five to B. Base A learns
# from all of A. B is made a few-label task: base B and every network built for B learn from 10
# labelled signals per class (drawn anew for each seed) and are tested on all of B's test
# signals. A new task with few labels is where transfer is used in practice, and it leaves room
# above base B for a boost from transferred features; with all of its half's 2,000 signals, a
# CNN trained from scratch comes close to perfect (base A's accuracy, printed below).
import matplotlib.pyplot as plt
import numpy as np

from layerwise import plot, runtime, stats, transfer, zoo

halves = zoo.mnist1d_halves()
print(f"A: digits {', '.join(halves.a.classes)}  ({len(halves.a.y_train)} training signals)")
print(
    f"B: digits {', '.join(halves.b.classes)}  ({halves.labels_per_class} labelled signals per "
    f"class, {len(halves.b.y_test)} test signals)"
)

# %%
# The network has six convolution blocks (convolution, batch norm, ReLU, and a max-pool after
# every second block), then global average :term:`pooling` and a linear classifier: "layer *n*" is
# block *n*, and the classifier is always new. Base A and base B start from different random
# weights. Frozen networks train with base B's schedule; fine-tuned ones (``+``) at a third of
# its learning rate, the usual practice so that the copied features are adjusted rather than
# overwritten. The recipe, :func:`layerwise.zoo.mnist1d_halves`, is shared with
# :ref:`sphx_glr_auto_examples_transfer_plot_fine_tuning_similarity.py`.
print(halves.config)
print("base A:", halves.base_schedule)
print("on B:  ", halves.schedule)
print("fine-tuning:", halves.fine_tune)
print(f"seeds: {halves.seeds}")

# %%
# At every cut *n* the experiment builds four networks for B, drawn here for ``n = 3``: blocks
# 1..n come from base B (``BnB``, the control: B's own features, cut and re-trained above) or
# from base A (``AnB``, the test: features learnt on other digits), kept frozen or fine-tuned
# (``+``); the blocks above the cut and the classifier start from new random weights and learn B.
ax = plot.transfer_networks(halves.config.depth, cut=3)
ax.set_title("The four networks built for B, at cut n = 3")
plt.show()

# %%
# Run the experiment
# ------------------
# :func:`layerwise.transfer.layer_transfer` trains the two base networks per seed and the four
# variants at every cut ``n = 1..6``. Every network of one seed learns from the same labelled
# signals of B, so variants compare **paired**, seed by seed. The seeds of each network train
# side by side in one vectorised model (:func:`layerwise.train.fit_seeds`), each as it would
# alone: these small networks take half the time that way.


def experiment(seeds, **options):
    """The layer-transfer experiment on the halves, for ``seeds`` (options: cuts, variants)."""
    return transfer.layer_transfer(
        halves.config,
        halves.a,
        halves.b_labelled,
        halves.schedule,
        schedule_a=halves.base_schedule,
        fine_tune=halves.fine_tune,
        seeds=seeds,
        **options,
    )


rows = experiment(
    halves.seeds,
    cuts=runtime.pick(quick=(1, 3, 6), default=None, full=None),  # None: every cut
)
acc = transfer.runs(rows)
cuts = sorted({r.n for r in rows if r.n > 0})
base = acc[("base", 0)]
base_a = stats.Runs(
    [
        transfer.fit_base(
            halves.config, halves.a, halves.base_schedule, seed=transfer.base_seed("A", s)
        ).test_accuracy
        for s in halves.seeds
    ]
)
print(f"base A (from scratch on all of A, tested on A): {base_a}")
print(f"base B (from scratch on B's labelled signals): {base}")
for v in transfer.VARIANTS:
    print(f"{v:>5}: " + "  ".join(f"n={n} {acc[(v, n)].mean:.3f}" for n in cuts))

# %%
# Accuracy on B against the cut
# -----------------------------
# Left: the mean accuracy of each variant with its 95 % interval over seeds; the grey band is
# base B's. Right: each variant minus base B, seed by seed (the paired difference), with its
# 95 % interval: where a bar clears zero, the difference is not luck of the draw.
style = {"BnB": ("C0", "o", "-"), "BnB+": ("C0", "s", ":"), "AnB": ("C3", "o", "-")}
style["AnB+"] = ("C3", "s", ":")
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
b_int = base.interval()
axes[0].axhspan(b_int.low, b_int.high, color="0.85")
axes[0].axhline(base.mean, color="0.3", ls="--", lw=1, label="base B (scratch)")
axes[1].axhline(0, color="0.3", ls="--", lw=1)
for i, v in enumerate(transfer.VARIANTS):
    color, marker, ls = style[v]
    x = np.array(cuts) + (i - 1.5) * 0.08
    for ax, series in (
        (axes[0], [acc[(v, n)] for n in cuts]),
        (axes[1], [stats.paired(acc[(v, n)], base) for n in cuts]),
    ):
        fill = "white" if v.endswith("+") else color
        plot.errorbar(ax, x, series, color=color, marker=marker, mfc=fill, ls=ls, capsize=2)
        ax.plot([], [], color=color, marker=marker, mfc=fill, ls=ls, label=v)
for ax in axes:
    ax.set_xticks(cuts, [f"n = {n}" for n in cuts])
    ax.set_xlabel("blocks 1..n copied")
axes[0].set_ylabel(f"test accuracy on B (chance {1 / halves.b.num_classes:.1f})")
axes[0].set_title("Accuracy on B, mean and 95 % interval")
axes[0].legend(ncols=3, loc="lower left", fontsize=8)
axes[1].set_ylabel("variant minus base B (paired)")
axes[1].set_title("Difference from base B, per seed")
plt.show()

# %%
# The paper's three questions
# ---------------------------
# Each asked by a paired comparison fixed before the run:
# (1) are the features general early and specific late, i.e. does frozen ``AnB`` do worse with
# all six blocks of A than with the first one? (2) do co-adapted middle layers break apart when
# the layers above them are retrained, i.e. does ``BnB`` at the middle cuts (n = 3 and 4, the
# mean of the two) fall below base B? (3) does starting from A's features and fine-tuning them
# beat training B from scratch (``AnB+`` averaged over all cuts against base B)?
top, middle = max(cuts), [n for n in cuts if n in (3, 4)]
general = stats.paired(acc[("AnB", top)], acc[("AnB", 1)])
dip = stats.paired(stats.Runs(np.mean([acc[("BnB", n)].array for n in middle], 0)), base)
boost_mean = stats.paired(stats.Runs(np.mean([acc[("AnB+", n)].array for n in cuts], 0)), base)
boost = {n: stats.paired(acc[("AnB+", n)], base) for n in cuts}
print(f"AnB at n={top} minus AnB at n=1: {general}")
print(f"BnB at n={', '.join(map(str, middle))} minus base B: {dip}")
print(f"AnB+ minus base B, mean over n = 1..{top}: {boost_mean}")
for n, b in boost.items():
    print(f"AnB+ minus base B at n={n}: {b}")

stats.claim(
    f"Frozen features of A are general early and specific late: AnB with all {top} blocks "
    "copied is less accurate on B than with the first block only",
    general,
    below=0,
)
stats.claim(
    f"Copying base B's own blocks shows no co-adaptation dip: BnB at the middle cuts "
    f"(n = {', '.join(map(str, middle))}) is not more than 5 points below base B",
    dip,
    above=-0.05,
)

# %%
# The third question, asked again on fresh seeds
# ----------------------------------------------
# The comparison fixed before the run (``AnB+`` averaged over all cuts against base B) has an
# interval that includes zero (printed above): five seeds with ten labels per class cannot
# answer it, because base B's accuracy varies by several points with the labelled signals it
# happens to draw. The per-cut differences suggest a sharper hypothesis, the one transfer
# learning uses in practice: copy *every* block of A and fine-tune (``AnB+`` at n = 6). A
# hypothesis picked after seeing a run is not tested by that run, so it is tested on new seeds
# (new draws of B's labelled signals, new base networks: ten in the default build), which this
# page had not run when the hypothesis was written down, and only those seeds count.
extra = runtime.pick(quick=2, default=10, full=20)
fresh = list(range(len(halves.seeds), len(halves.seeds) + extra))
confirm = transfer.runs(experiment(fresh, cuts=(halves.config.depth,), variants=("AnB+",)))
full_copy = stats.paired(confirm[("AnB+", halves.config.depth)], confirm[("base", 0)])
print(f"fresh seeds {fresh[0]}..{fresh[-1]}: base B {confirm[('base', 0)]}")
print(f"AnB+ at n={halves.config.depth} minus base B: {full_copy}")
low, high = full_copy.interval().low, full_copy.interval().high
verdict = "confirmed" if low > 0 else "not confirmed: the interval includes zero"
print(f"the hypothesis on fresh seeds: {verdict}; gains above {high:.2f} are ruled out")

# %%
# What it shows
# -------------
# In the first half of the network, frozen blocks of A and B's own score alike (the table
# above); with all six blocks frozen, ``AnB`` is clearly less accurate than with one (first
# claim; the red line falls at the last cuts, where ``BnB`` holds). The features of the last
# blocks are specific to the digits A was trained on. Copying B's own blocks, frozen, costs
# nothing at any cut: no co-adaptation dip shows at this scale (second claim), so the paper's
# second finding is not reproduced; the interval rules out only dips larger than its lower end.
# The third question is the hard one at this scale. The comparison fixed in advance includes
# zero, and the sharper hypothesis suggested by the per-cut differences (fine-tune all six
# blocks) was put to a test on fresh seeds, whose verdict and upper bound are printed above; the
# page does not pick a cut that happens to look good instead. With ten labelled signals per
# class, base B's accuracy moves by several points with the draw of its labels, which is the
# scale a gain from A's features has to beat.
# Transfer that pays off clearly, with features learned on a large, varied dataset, is on
# :ref:`sphx_glr_auto_examples_imagenet_plot_imagenet_transfer.py`.
#
# How this compares with :cite:`yosinski2014transferable`: on ImageNet with an eight-layer
# network (base 62.5 % top-1 on B), ``AnB`` stays at the base level for the first three layers
# and then falls, by eight points at n = 7; ``BnB`` dips by up to three points at n = 4 and 5
# and recovers at the top; ``BnB+`` stays within a point of the base; ``AnB+`` is above it at
# every n. A six-block network on MNIST-1D reproduces the first shape clearly, and not the
# others. The paper's second split, man-made against natural classes, has no counterpart
# among ten digits, so this page runs only the random split.
