"""n-bit parity: the depth-versus-width argument, as circuits and as trained networks.

Parity (is the number of ones odd?) is the classic example behind "deep beats wide":

* :func:`truth_table` -- all ``2**n`` inputs with their parity, the whole task;
* :func:`xor_tree` and :func:`dnf` -- two circuits of AND/OR gates (negated inputs free): a
  balanced tree of XORs, depth growing like ``log2 n`` with about ``6 n`` gates, and the
  depth-2 "OR of ANDs" with one AND per odd input pattern, ``2**(n-1)`` of them;
* :func:`threshold_network` -- the hand-built network of threshold units that computes parity
  with a single hidden layer of ``n`` units (count the ones, then alternate);
* :func:`train_parity` -- train many small networks on the truth table at once (one per seed
  and architecture) and record which reach 100 % and after how many steps.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Circuit",
    "ParityRun",
    "Step",
    "dnf",
    "threshold_network",
    "train_parity",
    "truth_table",
    "xor_tree",
]


def truth_table(n: int, *, signed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ``n``-bit input and its parity.

    Returns ``x`` of shape (2**n, n), row ``i`` holding the bits of ``i`` (bit ``j`` in column
    ``j``) as 0/1 floats, or as -1/+1 when ``signed``; and ``y`` (2**n,), 1 where the number
    of ones is odd.
    """
    if not 1 <= n <= 24:
        raise ValueError(f"n must be between 1 and 24 bits, got {n}.")
    rows = torch.arange(2**n)
    bits = (rows[:, None] >> torch.arange(n)) & 1
    y = bits.sum(1) % 2
    x = bits.float() * 2 - 1 if signed else bits.float()
    return x, y.long()


@dataclass(frozen=True)
class Circuit:
    """A Boolean circuit of AND and OR gates over the inputs and their negations.

    Wires ``0..n-1`` are the inputs, ``n..2n-1`` their negations (free, as usual in circuit
    complexity); gate ``k`` drives wire ``2n + k``. ``gates`` holds ``(op, input wires)`` with
    ``op`` ``"and"`` or ``"or"``; the last gate is the output.
    """

    n: int
    gates: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def size(self) -> int:
        """Number of gates."""
        return len(self.gates)

    @property
    def depth(self) -> int:
        """Gates on the longest path from an input to the output."""
        level = [0] * (2 * self.n)
        for _, inputs in self.gates:
            level.append(1 + max(level[i] for i in inputs))
        return level[-1]

    def __call__(self, x) -> np.ndarray:
        """Evaluate on 0/1 inputs of shape (rows, n); returns a 0/1 array (rows,)."""
        bits = np.asarray(x).astype(bool)
        if bits.ndim != 2 or bits.shape[1] != self.n:
            raise ValueError(f"expected inputs of shape (rows, {self.n}), got {bits.shape}.")
        wires = list(bits.T) + list(~bits.T)
        for op, inputs in self.gates:
            values = np.stack([wires[i] for i in inputs])
            wires.append(values.all(0) if op == "and" else values.any(0))
        return wires[-1].astype(np.int64)


def xor_tree(n: int) -> Circuit:
    """Parity as a balanced tree of two-input XORs, each made of AND and OR gates.

    Every node computes its XOR and its negation from its children's, three gates each:
    ``p = (a or b) and (not a or not b)``, ``not p = (a and b) or (not a and not b)``; so a node
    costs 6 gates and 2 levels, and the tree ``ceil(log2 n)`` levels of nodes.
    """
    if n < 2:
        raise ValueError("parity circuits need n >= 2 inputs.")
    gates: list[tuple[str, tuple[int, ...]]] = []

    def gate(op, *inputs):
        gates.append((op, inputs))
        return 2 * n + len(gates) - 1

    nodes = [(i, n + i) for i in range(n)]  # (wire of the value, wire of its negation)
    while len(nodes) > 1:
        paired = []
        for (a, na), (b, nb) in zip(nodes[0::2], nodes[1::2], strict=False):
            p = gate("and", gate("or", a, b), gate("or", na, nb))
            np_ = gate("or", gate("and", a, b), gate("and", na, nb))
            paired.append((p, np_))
        if len(nodes) % 2:
            paired.append(nodes[-1])
        nodes = paired
    # The output must be the last gate: move the root's value there.
    root = nodes[0][0]
    if gates and root != 2 * n + len(gates) - 1:
        op, inputs = gates[root - 2 * n]
        gates.append((op, inputs))
    return Circuit(n, tuple(gates))


def dnf(n: int) -> Circuit:
    """Parity as a depth-2 circuit: an OR of one AND per input pattern with an odd number of ones.

    Each AND tests all ``n`` inputs (fan-in ``n``); there are ``2**(n-1)`` of them.
    """
    if n < 2:
        raise ValueError("parity circuits need n >= 2 inputs.")
    gates: list[tuple[str, tuple[int, ...]]] = []
    for pattern in itertools.product((0, 1), repeat=n):
        if sum(pattern) % 2:
            gates.append(("and", tuple(i if bit else n + i for i, bit in enumerate(pattern))))
    gates.append(("or", tuple(range(2 * n, 2 * n + len(gates)))))
    return Circuit(n, tuple(gates))


class Step(nn.Module):
    """The threshold unit's activation: 1 where the input is positive, else 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """1.0 where ``x > 0``, else 0.0, in ``x``'s dtype."""
        return (x > 0).to(x.dtype)


def threshold_network(n: int) -> nn.Sequential:
    """The hand-built parity network: ``n`` threshold units, one hidden layer.

    Hidden unit ``k`` (k = 1..n) fires when at least ``k`` inputs are 1 (all weights 1, bias
    ``0.5 - k``). If ``m`` inputs are 1, exactly units 1..m fire; the output adds them with
    alternating signs +1, -1, +1, ..., which gives 1 for odd ``m`` and 0 for even ``m``, minus
    0.5. So the output (``out``) is positive exactly for odd parity. Inputs are 0/1.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}.")
    hidden, out = nn.Linear(n, n), nn.Linear(n, 1)
    k = torch.arange(1, n + 1, dtype=torch.float32)
    with torch.no_grad():
        hidden.weight.fill_(1.0)
        hidden.bias.copy_(0.5 - k)
        out.weight.copy_(((-1.0) ** (k + 1))[None])
        out.bias.fill_(-0.5)
    return nn.Sequential(*[m for m in (hidden, Step(), out)]).requires_grad_(False)


@dataclass(frozen=True)
class ParityRun:
    """Results of :func:`train_parity`: one row per architecture, one column per seed.

    ``accuracy``: the best training accuracy on the whole truth table reached during training.
    ``steps``: the first step at which every input was classified correctly, or -1 if that
    never happened (then ``solved`` is false).
    """

    n: int
    widths: tuple[int, ...]
    depths: tuple[int, ...]
    seeds: tuple[int, ...]
    accuracy: torch.Tensor
    steps: torch.Tensor

    @property
    def solved(self) -> torch.Tensor:
        return self.steps >= 0

    @property
    def success_rate(self) -> torch.Tensor:
        """Fraction of seeds that solved the task, per architecture."""
        return self.solved.double().mean(1)


_ACT = {"relu": torch.relu, "tanh": torch.tanh}


def train_parity(
    n: int,
    architectures: Sequence[tuple[int, int]],
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    steps: int = 2000,
    lr: float = 0.01,
    activation: str = "relu",
) -> ParityRun:
    """Train MLPs on the whole ``n``-bit parity truth table, all at once.

    Every network is trained on the same inputs with binary cross-entropy; they are stacked
    into one batched computation (narrower or shallower ones are the wider, deeper shape with
    units masked off and layers passed through), which is exact: masked units have no effect.

    Parameters
    ----------
    n
        Number of input bits; the training set is all ``2**n`` inputs (-1/+1 coded).
    architectures
        ``(width, depth)`` pairs: ``depth`` hidden layers of ``width`` units each, then one
        output unit (the logit of "odd").
    seeds
        One network per seed and architecture, initialised like :class:`~torch.nn.Linear`
        (uniform in +-1/sqrt(fan-in)) from that seed.
    steps
        Full-batch Adam steps (training stops early once every network is at 100 %).
    lr
        Adam's learning rate.
    activation
        ``"relu"`` or ``"tanh"``.
    """
    with _one_thread():
        return _train_parity(n, architectures, seeds, steps, lr, activation)


@contextmanager
def _one_thread():
    """Tiny tensors: thread synchronisation costs more than it saves, badly on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_parity(n, architectures, seeds, steps, lr, activation) -> ParityRun:
    if activation not in _ACT:
        raise ValueError(f"activation must be one of {', '.join(_ACT)}, got {activation!r}.")
    if not architectures or any(w < 1 or d < 1 for w, d in architectures):
        raise ValueError("give at least one (width, depth) pair, both at least 1.")
    act = _ACT[activation]
    x, y = truth_table(n, signed=True)
    target = y.float()
    width = max(w for w, _ in architectures)
    depth = max(d for _, d in architectures)
    models = [(w, d, s) for w, d in architectures for s in seeds]
    m = len(models)
    unit_mask = torch.zeros(m, 1, width)
    layer_on = torch.zeros(depth, m, 1, 1, dtype=torch.bool)
    weights = [torch.zeros(m, n, width)] + [torch.zeros(m, width, width) for _ in range(depth - 1)]
    biases = [torch.zeros(m, 1, width) for _ in range(depth)]
    w_out, b_out = torch.zeros(m, width, 1), torch.zeros(m, 1, 1)
    for i, (w, d, s) in enumerate(models):
        g = torch.Generator().manual_seed(1_000_003 * s + 1009 * w + d)
        unit_mask[i, 0, :w] = 1
        layer_on[:d, i] = True
        for k in range(d):
            fan_in = n if k == 0 else w
            bound = 1 / math.sqrt(fan_in)
            weights[k][i, :fan_in, :w] = (torch.rand(fan_in, w, generator=g) * 2 - 1) * bound
            biases[k][i, 0, :w] = (torch.rand(w, generator=g) * 2 - 1) * bound
        bound = 1 / math.sqrt(w)
        w_out[i, :w, 0] = (torch.rand(w, generator=g) * 2 - 1) * bound
        b_out[i] = (torch.rand(1, generator=g) * 2 - 1) * bound
    params = [*weights, *biases, w_out, b_out]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=lr)
    first_solved = torch.full((m,), -1, dtype=torch.long)
    best = torch.zeros(m, dtype=torch.float64)
    for step in range(1, steps + 1):
        h = act(x @ weights[0] + biases[0]) * unit_mask
        for k in range(1, depth):
            h = torch.where(layer_on[k], act(h @ weights[k] + biases[k]) * unit_mask, h)
        logits = (h @ w_out + b_out).squeeze(-1)  # (m, 2**n)
        loss = F.binary_cross_entropy_with_logits(
            logits, target.expand_as(logits), reduction="none"
        )
        correct = ((logits > 0).long() == y).double().mean(1)
        best = torch.maximum(best, correct)
        newly = (correct == 1.0) & (first_solved < 0)
        first_solved[newly] = step - 1
        if bool((first_solved >= 0).all()):
            break
        opt.zero_grad(set_to_none=True)
        loss.mean(1).sum().backward()
        opt.step()
    shape = (len(architectures), len(seeds))
    return ParityRun(
        n=n,
        widths=tuple(w for w, _ in architectures),
        depths=tuple(d for _, d in architectures),
        seeds=tuple(seeds),
        accuracy=best.float().reshape(shape),
        steps=first_solved.reshape(shape),
    )
