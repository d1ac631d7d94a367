"""n-bit parity: the depth-versus-width argument, as circuits and as trained networks.

Parity (is the number of ones odd?) is the classic example behind "deep beats wide":

* :func:`truth_table` -- all ``2**n`` inputs with their parity, the whole task;
* :func:`xor_tree` and :func:`dnf` -- two circuits of AND/OR gates (negated inputs free): a
  balanced tree of XORs, depth growing like ``log2 n`` with about ``6 n`` gates, and the
  depth-2 "OR of ANDs" with one AND per odd input pattern, ``2**(n-1)`` of them;
* :func:`threshold_network` -- the hand-built network of threshold units that computes parity
  with a single hidden layer of ``n`` units (count the ones, then alternate);
* :func:`train_parity` -- train many small networks on the truth table at once (one per seed
  and architecture) and record which reach 100 % and after how many steps;
* :func:`parameter_count` and :func:`matched_width` -- the size of such a network, and the
  width of one hidden layer with as many parameters as a deeper network.

The networks are tiny, so training one costs per-operation overhead rather than arithmetic.
:func:`train_parity` therefore trains all of them as one batched model:
``torch.func.stack_module_state`` stacks the networks' weights and
``torch.func.vmap`` runs ``torch.func.functional_call`` over the stack, one optimiser
step for all; a network that has solved the task leaves the stack. Networks of different sizes
can share one stack: the narrower or shallower ones are the widest, deepest shape with units
masked off and layers passed through, and the masked weights are zero and receive zero
gradient. Every network trains exactly as it would alone (the tests check this). Results are
cached per network and seed in the model cache folder, so a page that asks again trains
nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from . import runtime

__all__ = [
    "Circuit",
    "ParityRun",
    "Step",
    "dnf",
    "matched_width",
    "parameter_count",
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


def parameter_count(n: int, width: int, depth: int) -> int:
    """Weights and biases of an MLP with ``n`` inputs, ``depth`` hidden layers of ``width``
    units and one output unit."""
    if min(n, width, depth) < 1:
        raise ValueError(f"n, width and depth must be positive; got {n}, {width}, {depth}.")
    return (n + 1) * width + (depth - 1) * (width + 1) * width + width + 1


def matched_width(n: int, width: int, depth: int) -> int:
    """The width of a single hidden layer whose :func:`parameter_count` is closest to that of
    ``depth`` hidden layers of ``width`` units (the narrower one on a tie)."""
    target = parameter_count(n, width, depth)
    best = max(1, round((target - 1) / (n + 2)))
    return min(
        (w for w in (best - 1, best, best + 1) if w >= 1),
        key=lambda w: (abs(parameter_count(n, w, 1) - target), w),
    )


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
    def solved_count(self) -> torch.Tensor:
        """Number of seeds that solved the task, per architecture."""
        return self.solved.long().sum(1)

    @property
    def success_rate(self) -> torch.Tensor:
        """Fraction of seeds that solved the task, per architecture."""
        return self.solved.double().mean(1)


_ACT = {"relu": torch.relu, "tanh": torch.tanh}


class _MaskedMLP(nn.Module):
    """``depth`` hidden layers of ``width`` units inside a ``max_depth`` x ``max_width`` shape.

    The unused units and layers are switched off by two buffers (a unit mask and a per-layer
    switch), so networks of different sizes share one shape and can be stacked for ``vmap``.
    Initialised like :class:`~torch.nn.Linear` (uniform in +-1/sqrt(fan-in)) from a generator
    seeded by ``(seed, width, depth)``; every unused weight is exactly zero.
    """

    def __init__(self, n, width, depth, max_width, max_depth, seed, activation):
        super().__init__()
        self.activation = activation
        g = torch.Generator().manual_seed(1_000_003 * seed + 1009 * width + depth)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for k in range(max_depth):
            fan_in, rows = (n, n) if k == 0 else (width, max_width)
            w, b = torch.zeros(rows, max_width), torch.zeros(1, max_width)
            if k < depth:
                bound = 1 / math.sqrt(fan_in)
                w[:fan_in, :width] = (torch.rand(fan_in, width, generator=g) * 2 - 1) * bound
                b[0, :width] = (torch.rand(width, generator=g) * 2 - 1) * bound
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))
        bound = 1 / math.sqrt(width)
        w_out = torch.zeros(max_width, 1)
        w_out[:width, 0] = (torch.rand(width, generator=g) * 2 - 1) * bound
        self.w_out = nn.Parameter(w_out)
        self.b_out = nn.Parameter((torch.rand(1, 1, generator=g) * 2 - 1) * bound)
        mask = torch.zeros(1, max_width)
        mask[0, :width] = 1
        self.register_buffer("unit_mask", mask)
        self.register_buffer("layer_on", torch.arange(max_depth) < depth)

    def forward(self, x):
        act = _ACT[self.activation]
        h = act(x @ self.weights[0] + self.biases[0]) * self.unit_mask
        for k in range(1, len(self.weights)):
            h = torch.where(
                self.layer_on[k], act(h @ self.weights[k] + self.biases[k]) * self.unit_mask, h
            )
        return (h @ self.w_out + self.b_out).squeeze(-1)


def train_parity(
    n: int,
    architectures: Sequence[tuple[int, int]],
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    steps: int = 2000,
    lr: float = 0.01,
    activation: str = "relu",
    cache: bool = True,
) -> ParityRun:
    """Train MLPs on the whole ``n``-bit parity truth table, all at once.

    Every network is trained on the same inputs with full-batch Adam on binary cross-entropy.
    The networks of each depth (every seed of every width) are trained together as one batched
    model (see the module docstring); each network's result is the same as training it alone.

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
    cache
        Look each network's result up in, and save it to, the model cache folder
        (:func:`layerwise.train.cache_dir`), so only networks never trained before are trained.
    """
    if activation not in _ACT:
        raise ValueError(f"activation must be one of {', '.join(_ACT)}, got {activation!r}.")
    if not architectures or any(w < 1 or d < 1 for w, d in architectures):
        raise ValueError("give at least one (width, depth) pair, both at least 1.")
    architectures = [(int(w), int(d)) for w, d in architectures]
    seeds = [int(s) for s in seeds]
    jobs = [(w, d, s) for w, d in architectures for s in seeds]
    found = {}
    if cache:
        for job in set(jobs):
            hit = _cache_path(n, *job, steps, lr, activation)
            if hit.exists():
                try:
                    entry = json.loads(hit.read_text())
                    found[job] = (float(entry["accuracy"]), int(entry["steps"]))
                except (OSError, ValueError, KeyError):
                    hit.unlink(missing_ok=True)
    todo = sorted({job for job in jobs if job not in found})
    # One batched model per depth (every seed of every width): padding a network to a greater
    # width costs little, to a greater depth a whole layer. The batch shrinks as its networks
    # solve the task.
    for depth in sorted({d for _, d, _ in todo}):
        group = [job for job in todo if job[1] == depth]
        started = time.perf_counter()
        with _one_thread():
            accuracy, first = _train_batched(n, group, steps, lr, activation)
        networks = f"{len(group)} network{'s' * (len(group) > 1)}"
        what = f"{networks} together ({n}-bit parity, depth {depth})"
        runtime.trained(what, time.perf_counter() - started)
        for job, acc, step in zip(group, accuracy.tolist(), first.tolist(), strict=True):
            found[job] = (acc, step)
            if cache:
                path = _cache_path(n, *job, steps, lr, activation)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(json.dumps({"accuracy": acc, "steps": step}))
                os.replace(tmp, path)  # atomic: a reader never sees half an entry
    shape = (len(architectures), len(seeds))
    return ParityRun(
        n=n,
        widths=tuple(w for w, _ in architectures),
        depths=tuple(d for _, d in architectures),
        seeds=tuple(seeds),
        accuracy=torch.tensor([found[j][0] for j in jobs], dtype=torch.float32).reshape(shape),
        steps=torch.tensor([found[j][1] for j in jobs], dtype=torch.long).reshape(shape),
    )


def _cache_path(n, width, depth, seed, steps, lr, activation) -> Path:
    from .train import cache_dir

    spec = {
        "n": n,
        "width": width,
        "depth": depth,
        "seed": seed,
        "steps": steps,
        "lr": lr,
        "activation": activation,
        "code": hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16],
        "torch": torch.__version__,
    }
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]
    return cache_dir() / "parity" / f"{key}.json"


@contextmanager
def _one_thread():
    """Tiny tensors: thread synchronisation costs more than it saves, badly on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_batched(n, jobs, steps, lr, activation):
    """Train one network per ``(width, depth, seed)`` job, stacked; their best accuracy and the
    first step at which each was at 100 % (-1 if never)."""
    x, y = truth_table(n, signed=True)
    target = y.float()
    max_width = max(w for w, _, _ in jobs)
    max_depth = max(d for _, d, _ in jobs)
    nets = [_MaskedMLP(n, w, d, max_width, max_depth, s, activation) for w, d, s in jobs]
    params, buffers = stack_module_state(nets)
    shape = nets[0].to("meta")

    def logits_of(p, b):
        return functional_call(shape, (p, b), (x,))

    batched = vmap(logits_of)
    m = len(jobs)
    first_solved = torch.full((m,), -1, dtype=torch.long)
    best = torch.zeros(m, dtype=torch.float64)
    active = torch.arange(m)  # the networks still training, in stack order
    opt = torch.optim.Adam(list(params.values()), lr=lr)
    for step in range(1, steps + 1):
        logits = batched(params, buffers)  # (active networks, 2**n)
        correct = ((logits.detach() > 0).long() == y).double().mean(1)
        best[active] = torch.maximum(best[active], correct)
        done = correct == 1.0
        if bool(done.any()):
            # A solved network is finished: record it and drop it from the stack. The others
            # are independent of it, so they train on exactly as before.
            first_solved[active[done]] = step - 1
            keep = ~done
            active = active[keep]
            if not len(active):
                break
            params, buffers, opt = _keep(params, buffers, opt, keep, lr)
            logits = batched(params, buffers)
        loss = F.binary_cross_entropy_with_logits(
            logits, target.expand_as(logits), reduction="none"
        )
        opt.zero_grad(set_to_none=True)
        # Each network's loss depends only on its own weights: the gradient of the sum is
        # every network's own gradient.
        loss.mean(1).sum().backward()
        opt.step()
    return best.float(), first_solved


def _keep(params, buffers, opt, keep, lr):
    """The stacked weights, buffers and Adam state of the networks where ``keep`` is true."""
    new_params, state = {}, {}
    for name, p in params.items():
        q = p.detach()[keep].clone().requires_grad_(True)
        new_params[name] = q
        old = opt.state.get(p)
        if old:
            state[q] = {
                k: (v[keep].clone() if k in ("exp_avg", "exp_avg_sq") else v.clone())
                for k, v in old.items()
            }
    new_opt = torch.optim.Adam(list(new_params.values()), lr=lr)
    for q, st in state.items():
        new_opt.state[q] = st
    return new_params, {k: b[keep] for k, b in buffers.items()}, new_opt
