"""
Depth vs width: what parity does and does not show
==================================================

The lecture's argument for depth comes from circuit theory: computing the parity of n bits
(is the number of ones odd?) with AND/OR gates takes a tree of depth about log n, but a
depth-2 circuit needs about 2^(n-1) gates :cite:`hastad1986almost`. Does that carry over to
neural networks? We count the gates, build a one-hidden-layer network that computes parity by
hand, and then measure what *training* finds.
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

from layerwise import parity, runtime

ns = list(range(2, 17))
tree = {n: parity.xor_tree(n) for n in ns}
flat = {n: parity.dnf(n) for n in ns}
for n in ns:
    checked = ""
    if n <= 10:
        x, y = parity.truth_table(n)
        ok = all(np.array_equal(c(x.numpy()), y.numpy()) for c in (tree[n], flat[n]))
        checked = f"  (both verified on all {2**n} inputs: {ok})"
    print(
        f"n={n:2d}: XOR tree {tree[n].size:3d} gates, depth {tree[n].depth:2d} | "
        f"depth-2 circuit {flat[n].size:6d} gates{checked}"
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
# *learn* it? For each n we train, on the full truth table and from several seeds, one hidden
# layer of every width from 1 to 2n + 2, and networks of width n with 1 to 4 hidden layers
# (ReLU units, Adam, full batch; :func:`layerwise.parity.train_parity`). XOR is n = 2.
bits = list(range(2, runtime.pick(quick=5, default=9, full=11)))
seeds = list(range(runtime.pick(quick=3, default=5, full=10)))
steps = runtime.pick(quick=400, default=2000, full=5000)
wide, deep = {}, {}
for n in bits:
    wide[n] = parity.train_parity(
        n, [(w, 1) for w in range(1, 2 * n + 3)], seeds=seeds, steps=steps
    )
    deep[n] = parity.train_parity(n, [(n, d) for d in range(1, 5)], seeds=seeds, steps=steps)


def summary(run, sizes):
    rate = run.success_rate.numpy()
    first = next((k for k, r in enumerate(rate) if r > 0), None)
    half = next((k for k, r in enumerate(rate) if r >= 0.5), None)
    return (sizes[first] if first is not None else None, sizes[half] if half is not None else None)


print(f"seeds {seeds}, at most {steps} steps")
for n in bits:
    widths = list(wide[n].widths)
    w_any, w_half = summary(wide[n], widths)
    solved = wide[n].steps[wide[n].solved]
    med = f", median {int(solved.median())} steps when solved" if len(solved) else ""
    print(
        f"n={n}: one hidden layer -- smallest width solved by any seed: {w_any}, by half the "
        f"seeds: {w_half}{med}"
    )
    rates = ", ".join(
        f"depth {d}: {r:.0%}"
        for d, r in zip(deep[n].depths, deep[n].success_rate.tolist(), strict=True)
    )
    print(f"      width {n} -- fraction of seeds solved by depth: {rates}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
for n in bits:
    axes[0].plot(wide[n].widths, wide[n].success_rate, "o-", ms=3, label=f"n={n}")
    axes[1].plot(deep[n].depths, deep[n].success_rate, "o-", ms=3, label=f"n={n}")
axes[0].set(xlabel="width of the single hidden layer", ylabel="fraction of seeds at 100 %")
axes[0].set_title("One hidden layer: enough units, and training succeeds")
axes[1].set(xlabel="hidden layers (each of width n)", ylabel="fraction of seeds at 100 %")
axes[1].set_title("Width n: does adding layers help training?")
axes[1].set_xticks([1, 2, 3, 4])
for ax in axes:
    ax.set_ylim(-0.05, 1.05)
axes[1].legend(fontsize=8, ncols=2)
plt.show()

# %%
# What it shows
# -------------
# The gate counts are the lecture's argument, computed: the depth-2 circuit doubles with every
# bit while the tree grows linearly. But that is a statement about AND/OR gates. Units that
# threshold a weighted sum can count the ones, and the hand-built network computes parity with
# one hidden layer of n units, verified on every input. So for neural networks parity is not an
# example of a function that needs depth to be *represented*.
#
# Training is another matter, and the printed rates are the measurement: trained one-layer
# networks reach 100 % on the truth table only with more units than the hand-built n, and need
# more seeds and steps as n grows; the rows for the deeper networks show whether stacking layers
# of width n made it easier here. Where the numbers disagree with the lecture, they do so
# because the lecture's claim is about circuits. What depth does buy is composition: reusing
# intermediate results (the tree reuses each XOR) instead of enumerating cases, which is what
# the next page shows on sound.
