"""Comparing representations: CKA between two layers, and linear probes of one layer.

* :func:`cka` -- centred kernel alignment (Kornblith et al., 2019): how similar two sets of
  activations for the same inputs are, invariant to rotations and isotropic scaling of either,
  with linear or RBF kernels and an optional debiased (U-statistic) estimator;
  :func:`cka_matrix` for every pair of two lists of layers at once;
* :func:`linear_probe` -- how well a linear classifier reads a label out of a layer's
  activations: the standard way to ask "does this layer encode that property?" (logistic
  regression, fitted iteratively; :func:`ridge_probe` is the closed-form least-squares
  variant, one linear solve, for sweeps of many probes);
* :func:`probe_layers` -- the same probe at every layer of a network, on inputs of one fixed
  size per layer (each layer's maps average-pooled to the same grid), as a tidy table.

Both take activations with one row per input, of any shape after the first axis (they are
flattened), as tensors or NumPy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "ProbeResult",
    "ProbeRow",
    "cka",
    "cka_matrix",
    "gram_linear",
    "gram_rbf",
    "linear_probe",
    "pooled",
    "probe_layers",
    "ridge_probe",
]


def _as_matrix(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() < 2:
        raise ValueError(f"activations need one row per input; got shape {tuple(t.shape)}.")
    return t.detach().to("cpu", torch.float64).flatten(1)


def gram_linear(x) -> torch.Tensor:
    """Linear kernel matrix ``X X^T`` of activations (one row per input)."""
    x = _as_matrix(x)
    return x @ x.T


def gram_rbf(x, threshold: float = 1.0) -> torch.Tensor:
    """Gaussian kernel matrix with bandwidth ``threshold`` times the median distance."""
    x = _as_matrix(x)
    dot = x @ x.T
    sq = dot.diagonal()
    sq_dist = (sq[:, None] + sq[None, :] - 2 * dot).clamp_min(0)
    median = sq_dist.median()
    return torch.exp(-sq_dist / (2 * threshold**2 * median))


def _center(gram: torch.Tensor, debiased: bool) -> torch.Tensor:
    gram = gram.clone()
    n = gram.shape[0]
    if debiased:
        if n < 4:
            raise ValueError("the debiased estimator needs at least 4 inputs.")
        gram.fill_diagonal_(0)
        means = gram.sum(0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None] + means[None, :]
        gram.fill_diagonal_(0)
    else:
        means = gram.mean(0)
        means -= means.mean() / 2
        gram -= means[:, None] + means[None, :]
    return gram


def cka(x, y, *, kernel: str = "linear", threshold: float = 1.0, debiased: bool = False) -> float:
    """Centred kernel alignment between activations ``x`` and ``y`` of the same inputs.

    Parameters
    ----------
    x, y
        Activations with one row per input (same number of rows; any number of features).
    kernel
        ``"linear"`` or ``"rbf"``.
    threshold
        For ``"rbf"``: the bandwidth as a fraction of the median distance between inputs.
    debiased
        Use the unbiased HSIC estimator (less inflated for few inputs and many features).

    Returns
    -------
    float
        1 for representations equal up to rotation and scale; near 0 for unrelated ones.
    """
    if kernel not in ("linear", "rbf"):
        raise ValueError(f"kernel must be 'linear' or 'rbf', got {kernel!r}.")
    gx = gram_linear(x) if kernel == "linear" else gram_rbf(x, threshold)
    gy = gram_linear(y) if kernel == "linear" else gram_rbf(y, threshold)
    if gx.shape != gy.shape:
        raise ValueError(f"x has {gx.shape[0]} inputs but y has {gy.shape[0]}; they must match.")
    gx, gy = _center(gx, debiased), _center(gy, debiased)
    return float((gx * gy).sum() / (gx.norm() * gy.norm()))


def cka_matrix(xs, ys, *, debiased: bool = False) -> np.ndarray:
    """Linear CKA between every pair of ``xs`` and ``ys`` (lists of activations of the same
    inputs): entry ``[i, j]`` is ``cka(xs[i], ys[j])``, with each kernel matrix computed once."""
    gx = [_center(gram_linear(x), debiased) for x in xs]
    gy = [_center(gram_linear(y), debiased) for y in ys]
    gx = [g / g.norm() for g in gx]
    gy = [g / g.norm() for g in gy]
    if any(g.shape != gx[0].shape for g in gx + gy):
        raise ValueError("every set of activations must have the same number of inputs.")
    return np.array([[float((a * b).sum()) for b in gy] for a in gx])


@dataclass(frozen=True)
class ProbeResult:
    """Accuracy of a linear probe on the data it was fitted to and on held-out data."""

    train_accuracy: float
    test_accuracy: float
    chance: float

    def __str__(self) -> str:
        return (
            f"train {self.train_accuracy:.3f}, test {self.test_accuracy:.3f} "
            f"(chance {self.chance:.3f})"
        )


def linear_probe(
    train_features,
    train_labels,
    test_features,
    test_labels,
    *,
    l2: float = 1e-3,
    max_iter: int = 200,
) -> ProbeResult:
    """Fit a multinomial logistic regression on ``train_features`` and score it on both splits.

    Features are flattened and standardised with the training split's statistics; the fit is
    full-batch L-BFGS with an L2 penalty ``l2`` on the weights, deterministic for given inputs.
    ``chance`` is the accuracy of always predicting the most frequent training label.
    """
    xtr, xte = _as_matrix(train_features).float(), _as_matrix(test_features).float()
    ytr = torch.as_tensor(np.asarray(train_labels)).long().flatten()
    yte = torch.as_tensor(np.asarray(test_labels)).long().flatten()
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ValueError("each split needs exactly one label per row of features.")
    mean, std = xtr.mean(0), xtr.std(0).clamp_min(1e-6)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    classes = int(max(ytr.max(), yte.max())) + 1
    targets = torch.nn.functional.one_hot(ytr, classes).to(xtr.dtype)
    # The gradient is written out (_logistic_loss), so the parameters need no autograd.
    weight, bias = torch.zeros(xtr.shape[1], classes), torch.zeros(classes)
    opt = torch.optim.LBFGS(
        [weight, bias], lr=1, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure():
        loss, weight.grad, bias.grad = _logistic_loss(xtr, targets, weight, bias, l2)
        return loss

    opt.step(closure)
    with torch.no_grad():
        acc_tr = ((xtr @ weight + bias).argmax(1) == ytr).float().mean().item()
        acc_te = ((xte @ weight + bias).argmax(1) == yte).float().mean().item()
    chance = torch.bincount(ytr, minlength=classes).max().item() / len(ytr)
    return ProbeResult(train_accuracy=acc_tr, test_accuracy=acc_te, chance=chance)


@torch.no_grad()
def _logistic_loss(x, targets, weight, bias, l2):
    """The mean cross-entropy of ``softmax(x @ weight + bias)`` against one-hot ``targets``
    plus ``l2 * |weight|^2``, and its gradients for ``weight`` and ``bias``.

    Written out (softmax minus one-hot, back through the linear map), it is what autograd would
    compute, without the graph autograd builds at each of the solver's many calls.
    """
    logits = torch.addmm(bias, x, weight)
    loss = (torch.logsumexp(logits, 1) - (logits * targets).sum(1)).mean()
    residual = (torch.softmax(logits, 1) - targets) / len(x)
    return loss + l2 * weight.square().sum(), x.T @ residual + 2 * l2 * weight, residual.sum(0)


def _standardised(train_features, test_features):
    xtr, xte = _as_matrix(train_features), _as_matrix(test_features)
    mean, std = xtr.mean(0), xtr.std(0).clamp_min(1e-6)
    return (xtr - mean) / std, (xte - mean) / std


class _Ridge:
    """Standardised features and the factorised ridge system of one training split, reusable
    for every label probed on the same rows."""

    def __init__(self, train_features, test_features, alpha):
        self.xtr, self.xte = _standardised(train_features, test_features)
        # With more features than rows the same solution comes from the (rows x rows) system:
        # w = X^T (X X^T + a n I)^-1 y  equals  (X^T X + a n I)^-1 X^T y.
        self.dual = self.xtr.shape[1] > len(self.xtr)
        gram = self.xtr @ self.xtr.T if self.dual else self.xtr.T @ self.xtr
        gram.diagonal().add_(alpha * len(self.xtr))
        self.factor = torch.linalg.cholesky(gram)

    def result(self, ytr, yte) -> ProbeResult:
        if len(self.xtr) != len(ytr) or len(self.xte) != len(yte):
            raise ValueError("each split needs exactly one label per row of features.")
        classes = int(max(ytr.max(), yte.max())) + 1
        targets = torch.nn.functional.one_hot(ytr, classes).double()
        offset = targets.mean(0)
        if self.dual:
            weight = self.xtr.T @ torch.cholesky_solve(targets - offset, self.factor)
        else:
            weight = torch.cholesky_solve(self.xtr.T @ (targets - offset), self.factor)
        s_tr, s_te = self.xtr @ weight + offset, self.xte @ weight + offset
        return ProbeResult(
            train_accuracy=(s_tr.argmax(1) == ytr).double().mean().item(),
            test_accuracy=(s_te.argmax(1) == yte).double().mean().item(),
            chance=torch.bincount(ytr, minlength=classes).max().item() / len(ytr),
        )


def ridge_probe(
    train_features, train_labels, test_features, test_labels, *, alpha: float = 0.1
) -> ProbeResult:
    """A linear probe in closed form: ridge regression of one-hot labels, read out by argmax.

    Features are flattened and standardised with the training split's statistics; the penalty
    is ``alpha`` times the number of training rows (with standardised features, ``alpha`` is
    relative to the data's own scale). One linear solve, deterministic, and much cheaper than
    :func:`linear_probe`'s iterative logistic regression, which it tracks closely in accuracy.
    """
    ytr = torch.as_tensor(np.asarray(train_labels)).long().flatten()
    yte = torch.as_tensor(np.asarray(test_labels)).long().flatten()
    return _Ridge(train_features, test_features, alpha).result(ytr, yte)


def pooled(activations: torch.Tensor, grid: int = 4) -> torch.Tensor:
    """Average-pool a layer's maps to at most ``grid`` positions per spatial axis.

    (N, C, H, W) -> (N, C, min(H, grid), min(W, grid)); (N, C, L) -> (N, C, min(L, grid)); other
    shapes are returned unchanged. Probing every layer on the same grid keeps the number of
    probe inputs comparable across layers, so a deeper layer is not favoured (or penalised)
    for having fewer positions.
    """
    import torch.nn.functional as F

    if activations.dim() == 4:
        h, w = activations.shape[-2:]
        return F.adaptive_avg_pool2d(activations, (min(h, grid), min(w, grid)))
    if activations.dim() == 3:
        return F.adaptive_avg_pool1d(activations, min(activations.shape[-1], grid))
    return activations


@dataclass(frozen=True)
class ProbeRow:
    """One row of :func:`probe_layers`' table: a probe of one label at one layer."""

    layer: str
    label: str
    train_accuracy: float
    test_accuracy: float
    chance: float

    def __str__(self) -> str:
        return (
            f"{self.layer:>8s} {self.label:>12s}: test {self.test_accuracy:.3f} "
            f"(train {self.train_accuracy:.3f}, chance {self.chance:.3f})"
        )


def probe_layers(
    model: torch.nn.Module,
    x_train: torch.Tensor,
    x_test: torch.Tensor,
    layers,
    labels: dict,
    *,
    grid: int = 4,
    solver: str = "logistic",
    l2: float = 1e-3,
    max_iter: int = 200,
    alpha: float = 0.1,
    batch_size: int = 1024,
) -> list[ProbeRow]:
    """Linear probes of every label at every layer, on fixed-size (pooled) inputs.

    Parameters
    ----------
    model
        The network (put in eval mode while its layers are read).
    x_train, x_test
        Inputs whose activations the probes are fitted to and tested on.
    layers
        Layer names (see :func:`layerwise.features.layer_names`); ``"input"`` probes the input
        itself, pooled the same way.
    labels
        Label name -> ``(train_labels, test_labels)``, one class index per input; an index of
        ``-1`` leaves that input out of that label's probe (for a label defined on a subset of
        the inputs, e.g. only the images whose object lacks a part).
    grid
        Each layer's maps are average-pooled to at most ``grid`` positions per axis
        (:func:`pooled`).
    solver
        ``"logistic"``: :func:`linear_probe` (with ``l2`` and ``max_iter``); ``"ridge"``:
        :func:`ridge_probe` (with ``alpha``), closed form and much faster.
    batch_size
        Inputs per forward pass while the activations are read
        (:func:`layerwise.features.extract`); smaller batches are faster for a large network.

    Returns
    -------
    list[ProbeRow]
        One row per (layer, label), layers in the order given.
    """
    from . import features

    if solver not in ("logistic", "ridge"):
        raise ValueError(f"solver must be 'logistic' or 'ridge', got {solver!r}.")
    inner = [name for name in layers if name != "input"]
    acts_train = features.extract(model, x_train, inner, batch_size=batch_size) if inner else {}
    acts_test = features.extract(model, x_test, inner, batch_size=batch_size) if inner else {}
    acts_train["input"], acts_test["input"] = x_train, x_test
    rows = []
    for layer in layers:
        f_train, f_test = pooled(acts_train[layer], grid), pooled(acts_test[layer], grid)
        systems = {}  # ridge: one factorisation per subset of rows, shared by its labels
        for name, (y_train, y_test) in labels.items():
            y_train = torch.as_tensor(np.asarray(y_train)).long().flatten()
            y_test = torch.as_tensor(np.asarray(y_test)).long().flatten()
            keep_train, keep_test = y_train >= 0, y_test >= 0
            split = (
                f_train[keep_train],
                y_train[keep_train],
                f_test[keep_test],
                y_test[keep_test],
            )
            if solver == "ridge":
                key = (keep_train.numpy().tobytes(), keep_test.numpy().tobytes())
                if key not in systems:
                    systems[key] = _Ridge(split[0], split[2], alpha)
                result = systems[key].result(split[1], split[3])
            else:
                result = linear_probe(*split, l2=l2, max_iter=max_iter)
            rows.append(
                ProbeRow(layer, name, result.train_accuracy, result.test_accuracy, result.chance)
            )
    return rows
