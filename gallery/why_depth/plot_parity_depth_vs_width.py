"""
Depth vs width: what parity does and does not show
==================================================

The lecture's argument for depth comes from circuit theory: computing the parity of n bits
(is the number of ones odd?) with AND/OR gates takes a tree of depth about log n, but a
depth-2 circuit needs about 2^(n-1) gates :cite:`hastad1986almost`. Does that carry over to
neural networks? We count the gates, build a one-hidden-layer network that computes parity by
hand, and then measure what *training* finds.

:Predict first: For 8-bit parity at the same number of parameters, does training succeed more
   often with one wide layer or with three narrow ones?
"""

# %%
# The circuit argument, counted
# -----------------------------
# :func:`layerwise.parity.xor_tree` builds a balanced tree of XORs out of AND and OR gates;
# :func:`layerwise.parity.dnf` builds the depth-2 "OR of ANDs" with one AND per odd input
# pattern. Both get negated inputs for free. Each is checked on the whole truth table where that
# is quick.
import matplotlib.pyplot as plt
import numpy as np

from layerwise import parity, plot, runtime, stats

ns = list(range(2, 17))
tree = {n: parity.xor_tree(n) for n in ns}
flat = {n: parity.dnf(n) for n in ns}
for n in ns:
    checked = ""
    if n <= 10:
        x, y = parity.truth_table(n)
        ok = all(np.array_equal(c(x.numpy()), y.numpy()) for c in (tree[n], flat[n]))
        checked = f"  (both verified on all {2**n} inputs: {ok})"
    ands = flat[n].size - 1  # one AND per odd input pattern, 2**(n-1), and one OR
    print(
        f"n={n:2d}: XOR tree {tree[n].size:3d} gates, depth {tree[n].depth:2d} | "
        f"depth-2 circuit {ands:,} ANDs + 1 OR = {flat[n].size:,} gates{checked}"
    )

fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
ax.semilogy(ns, [tree[n].size for n in ns], "o-", label="XOR tree (depth ~ 2 log2 n)")
ax.semilogy(ns, [flat[n].size for n in ns], "s-", label="depth 2 (OR of ANDs)")
ax.set(xlabel="number of bits n", ylabel="gates")
ax.set_title("Parity with AND/OR gates: depth saves exponentially many gates")
ax.legend()
plt.show()

# %%
# But neurons are not AND/OR gates
# --------------------------------
# A unit that thresholds a weighted sum can *count*. :func:`layerwise.parity.threshold_network`
# has one hidden layer of n threshold units: unit k fires when at least k inputs are on; the
# output adds them with alternating signs. One hidden layer, n units -- no exponential blow-up.
for n in ns:
    x, y = parity.truth_table(n)
    net = parity.threshold_network(n)
    correct = int(((net(x).squeeze(1) > 0).long() == y).sum())
    print(f"n={n:2d}: hand-built network, {n} hidden units: {correct}/{2**n} inputs correct")

# %%
# What training finds
# -------------------
# So depth is not needed to *represent* parity with threshold-like units. Is it needed to
# *learn* it? For each n we train, on the full truth table, three kinds of ReLU network, each
# from many seeds (Adam, full batch, at most a fixed number of steps;
# :func:`layerwise.parity.train_parity`):
#
# * **one hidden layer of n units**, the size of the hand-built network;
# * **three hidden layers of n units** (an XOR tree for 8 bits has three levels);
# * **one hidden layer with as many parameters** as the three-layer network
#   (:func:`layerwise.parity.matched_width`), so that depth is compared with width at equal size.
#
# A run *solves* the task when every one of the 2^n inputs is classified correctly. The
# networks of one depth train together as one batched model, each exactly as it would alone, and
# each result is cached. The share of seeds that solve gets a Wilson interval; the difference of
# two shares, Newcombe's interval (:func:`layerwise.stats.proportion_difference`). XOR is n = 2.
bits = list(range(2, runtime.pick(quick=5, default=9, full=11)))
seeds = runtime.seeds(24)
steps = runtime.pick(quick=300, default=1000, full=2000)
arms = {
    "1 layer of n units": lambda n: (n, 1),
    "3 layers of n units": lambda n: (n, 3),
    "1 layer, same parameters as 3": lambda n: (parity.matched_width(n, n, 3), 1),
}
runs = {}
for n in bits:
    shapes = [arm(n) for arm in arms.values()]
    run = parity.train_parity(n, shapes, seeds=seeds, steps=steps)
    runs[n] = dict(zip(arms, zip(shapes, run.solved_count.tolist(), strict=True), strict=True))

print(f"{len(seeds)} seeds per network, at most {steps} Adam steps")
for n in bits:
    cells = [
        f"{name} (width {w}, {parity.parameter_count(n, w, d)} parameters): "
        f"{stats.proportion(k, len(seeds))} solved"
        for name, ((w, d), k) in runs[n].items()
    ]
    print(f"n={n}: " + "; ".join(cells))

# %%
# Solved, bit by bit
# ------------------
# The share of seeds that reach 100 % on the truth table, with 95 % Wilson intervals (left), and
# the number of parameters of each network (right).
fig, (ax_rate, ax_size) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
styles = {"1 layer of n units": "o:", "3 layers of n units": "s-"}
for k, name in enumerate(arms):
    shift = (k - 1) * 0.12
    rates = [stats.proportion(runs[n][name][1], len(seeds)) for n in bits]
    style = styles.get(name, "^--")
    plot.errorbar(ax_rate, np.array(bits) + shift, rates, fmt=style, ms=5, label=name)
    size = [parity.parameter_count(n, *runs[n][name][0]) for n in bits]
    ax_size.bar(np.array(bits) + (k - 1) * 0.27, size, 0.27, label=name)
ax_rate.set(xlabel="number of bits n", ylabel=f"share of {len(seeds)} seeds at 100 %")
ax_rate.set(xticks=bits, ylim=(-0.03, 1.03))
ax_rate.set_title(f"Trained on the whole truth table (at most {steps} steps)")
ax_size.set(xlabel="number of bits n", ylabel="parameters", xticks=bits)
ax_size.set_title("Network sizes")
fig.legend(*ax_rate.get_legend_handles_labels(), loc="outside lower center", ncols=3)
plt.show()

# %%
# The claims
# ----------
# At the largest n of this build, with as many seeds for each network.
n = bits[-1]
(w_n, _), hand = runs[n]["1 layer of n units"]
(_, _), deep = runs[n]["3 layers of n units"]
(w_m, _), matched = runs[n]["1 layer, same parameters as 3"]
S = len(seeds)
stats.claim(
    f"At equal size ({parity.parameter_count(n, w_m, 1)} vs "
    f"{parity.parameter_count(n, n, 3)} parameters), one hidden layer of {w_m} units is trained "
    f"to solve {n}-bit parity more often than three layers of {n}: share solved, one minus three",
    stats.proportion_difference(matched, S, deep, S),
    above=0,
)
stats.claim(
    f"Against one hidden layer of {n} units, adding two more layers of {n} helps training: "
    f"share of seeds that solve {n}-bit parity, three layers minus one",
    stats.proportion_difference(deep, S, hand, S),
    above=0,
)
stats.claim(
    f"Training rarely finds the hand-built solution: one hidden layer of {n} units, enough to "
    f"compute {n}-bit parity, solves it from under a quarter of the seeds",
    stats.proportion(hand, S),
    below=0.25,
)
solved_at_n = [m for m in bits if runs[m]["1 layer of n units"][1] > 0]
print(f"one hidden layer of n units solved the task from some seed for n = {solved_at_n}")
deeper_helped = [
    m for m in bits if runs[m]["3 layers of n units"][1] > runs[m]["1 layer of n units"][1]
]
print(
    "three layers of n units solved it more often than one layer of n units for "
    f"n = {deeper_helped}"
)

# %%
# What it shows
# -------------
# The gate counts are the lecture's argument, computed: the depth-2 circuit doubles with every
# bit while the tree grows linearly. But that is a statement about AND/OR gates. Units that
# threshold a weighted sum can count the ones, and the hand-built network computes parity with
# one hidden layer of n units, verified on every input. So for neural networks parity is not an
# example of a function that needs depth to be *represented*.
#
# Training is another matter. One hidden layer of exactly n units is enough, but gradient
# descent rarely finds that solution: it did from some seeds for the n in the next-to-last
# printed line, and from fewer seeds as n grows (the claims give the share at the largest n).
# Stacking two more layers of n units made training succeed more often for the n in the last
# printed line, the larger ones. But those layers add parameters, and spending the same number
# of parameters on a single wider layer helped more: at equal size, the shallow, wide network
# solved parity more often than the deep one (the figure), by a wide margin at the largest n
# (the first claim). For trained networks on this task, depth is not the advantage the circuit
# argument suggests: what helped training was size, not depth. What depth does buy is
# composition, reusing intermediate results (the tree reuses each XOR) instead of enumerating
# cases, which is what the next page shows on sound.
