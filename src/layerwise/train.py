"""Training on in-memory tensors, with a cache of trained models.

:func:`fit` builds a model from its configuration, trains it on a :class:`~layerwise.data.Dataset`
that stays on the device for the whole run (batches are index slices; no per-sample Python), and
returns the model with its per-epoch history. A trained model is saved in the model cache under a
key that covers everything that determines the result -- model and training configuration, the
data's fingerprint, the seed, the starting weights, the library code that trains it, the PyTorch
version and the device type -- so pages that need the same network share one training run, and
any change retrains. Entries are plain tensors loaded with ``weights_only=True`` (no arbitrary
pickle); an unreadable entry is reported and retrained.

The cache lives in ``$LAYERWISE_CACHE`` (default ``~/.cache/layerwise/models``); a site build
sets it to the checkout's ``build/model-cache`` unless it is set (``docs/_ext/buildcmd.py``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import runtime
from .data import Dataset

__all__ = [
    "FitResult",
    "Schedule",
    "EVALUATION_NUMBERS",
    "TEST_EVALUATIONS",
    "batchable",
    "cache_dir",
    "evaluate",
    "fit",
    "fit_seeds",
    "initial_state",
    "memory_format",
    "test_epochs",
    "untrained",
]

_CACHE_FORMAT = 1


@dataclass(frozen=True)
class Schedule:
    """The training schedule: epochs, batches, optimiser, learning rate and augmentation.

    ``optimizer`` is ``"adamw"`` or ``"sgd"`` (with Nesterov momentum 0.9); the learning rate
    follows a one-cycle schedule peaking at ``lr`` when ``lr_schedule="onecycle"``, or stays at
    ``lr`` with ``"constant"``. ``augment`` names augmentations joined by ``+``: ``"flip"``
    mirrors a random half of the images left-right; ``"color"`` multiplies each channel of each
    image by a random gain and adds a random offset, so that colour alone is an unreliable cue.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    optimizer: str = "adamw"
    lr_schedule: str = "onecycle"
    augment: str | None = None
    label_smoothing: float = 0.0

    def __post_init__(self):
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {self.optimizer!r}.")
        if self.lr_schedule not in ("onecycle", "constant"):
            raise ValueError(
                f"lr_schedule must be 'onecycle' or 'constant', got {self.lr_schedule!r}."
            )
        unknown = set((self.augment or "flip").split("+")) - {"flip", "color"}
        if unknown:
            raise ValueError(
                f"augment {self.augment!r} names unknown augmentations {sorted(unknown)}; "
                "use 'flip', 'color' or 'flip+color'."
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive.")


@dataclass
class FitResult:
    """A trained model, its per-epoch history and whether it came from the cache."""

    model: nn.Module
    history: dict[str, list[float]] = field(default_factory=dict)
    from_cache: bool = False
    key: str = ""

    @property
    def test_accuracy(self) -> float:
        return self.history["test_acc"][-1]

    @property
    def train_accuracy(self) -> float:
        return self.history["train_acc"][-1]


def cache_dir() -> Path:
    """The model cache folder: ``$LAYERWISE_CACHE`` or ``~/.cache/layerwise/models``."""
    return Path(os.environ.get("LAYERWISE_CACHE", "~/.cache/layerwise/models")).expanduser()


#: The library code that decides what a trained model looks like: modules or packages (a
#: package counts with every module in it). The data count through their own fingerprint.
_CODE = ("train", "models", "runtime")


def _code_fingerprint(library: Path | None = None) -> str:
    """Hash of the library code in :data:`_CODE` (file names and contents)."""
    library = library or Path(__file__).parent
    h = hashlib.sha256()
    for name in _CODE:
        module = library / f"{name}.py"
        for path in [module] if module.exists() else sorted((library / name).rglob("*.py")):
            h.update(path.relative_to(library).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _state_fingerprint(state: dict[str, torch.Tensor] | None) -> str | None:
    if state is None:
        return None
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _cache_key(config, data, schedule, seed, init_state, freeze, device) -> str:
    spec = {
        "model": config.to_dict(),
        "schedule": asdict(schedule),
        "data": data.fingerprint,
        "seed": seed,
        "init": _state_fingerprint(init_state),
        "freeze": sorted(freeze),
        "code": _code_fingerprint(),
        "torch": torch.__version__,
        "device": device.type,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _load(path: Path, model: nn.Module):
    """The cached history, with the weights loaded into ``model``; None if absent or unreadable."""
    if not path.exists():
        return None
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
        if entry.get("format") != _CACHE_FORMAT:
            raise ValueError(f"cache format {entry.get('format')!r}")
        model.load_state_dict(entry["state_dict"])
        return {
            k: [int(v) if k == "test_epoch" else float(v) for v in vals]
            for k, vals in entry["history"].items()
        }
    except Exception as err:  # a truncated file, another format, foreign keys...
        warnings.warn(
            f"model cache entry {path.name} is unreadable "
            f"({type(err).__name__}: {(str(err).splitlines() or [''])[0]}); "
            "retraining it.",
            stacklevel=3,
        )
        path.unlink(missing_ok=True)
        return None


def _save(path: Path, model: nn.Module, history: dict[str, list[float]]):
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"format": _CACHE_FORMAT, "state_dict": state, "history": history}, tmp)
    os.replace(tmp, path)  # atomic: readers never see a half-written entry


#: The most input numbers :func:`evaluate` passes through a network at once by default.
EVALUATION_NUMBERS = 2**20


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None):
    """Mean cross-entropy loss and accuracy of ``model`` on ``(x, y)`` (in eval mode).

    ``batch_size`` defaults to as many inputs as hold :data:`EVALUATION_NUMBERS` numbers: a test
    set of 8 x 8 digits or MNIST-1D signals in one pass, photo patches of 32 x 32 x 3 in batches
    of 341. Larger batches of photo patches ran slower on a 2-core CPU, their activations too
    large for the processor's caches: over the photo CNN's test set, 0.36 s in batches of 1,024
    and 0.29 s in batches of 341 (medians of nine, alternated).
    """
    batch_size = batch_size or max(1, EVALUATION_NUMBERS // max(1, x[0].numel()))
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    loss, correct = torch.zeros((), device=dev), torch.zeros((), device=dev)
    for i in range(0, len(y), batch_size):
        xb, yb = x[i : i + batch_size].to(dev), y[i : i + batch_size].to(dev)
        out = model(xb)
        loss += F.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    model.train(was_training)
    return loss.item() / len(y), correct.item() / len(y)


def memory_format(model: nn.Module, device: torch.device | str) -> torch.memory_format:
    """The memory layout :func:`fit` trains ``model`` in on ``device``.

    ``torch.channels_last`` (pixels outermost, channels innermost) for a 2-D convolutional
    network on the CPU whose convolutions all have a multiple of 8 output channels: oneDNN's
    convolution, batch-norm and pooling kernels then run over whole vector registers of
    channels. Otherwise PyTorch's default layout: on a 2-core CPU the photo CNN and the
    16/32/64-channel digit networks took fewer seconds a step in channels_last, while a
    pooling-free stack of 12-channel layers took more, which the multiple-of-8 rule excludes.
    The layout changes where the numbers sit in memory, not what is computed; results agree to
    floating-point rounding.
    """
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    whole_blocks = convs and all(c.out_channels % 8 == 0 for c in convs)
    if torch.device(device).type == "cpu" and whole_blocks:
        return torch.channels_last
    return torch.contiguous_format


def _optimizer(model, schedule: Schedule, steps: int):
    """The optimiser and learning-rate schedule of ``schedule`` over ``model``'s trainable weights.

    The update runs as one fused kernel over all the weights (``fused=True``) instead of a
    handful of element-wise operations per weight tensor: the same update, rounded differently.
    On 2 CPU cores the update of six 1,000 to 300,000-number tensors took a quarter to a third
    of the time, and twelve of the layer-transfer page's networks (frozen and fine-tuned)
    0.83 ± 0.09 (n = 6) of theirs (the benchmarks page has the measurement). Where PyTorch has
    no fused kernel for the weights' device (or is older than the one the site builds with),
    the usual one is used.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if schedule.optimizer == "adamw":
        kind, settings = torch.optim.AdamW, dict(weight_decay=schedule.weight_decay)
    else:
        kind = torch.optim.SGD
        settings = dict(momentum=0.9, nesterov=True, weight_decay=schedule.weight_decay)
    try:
        opt = kind(params, lr=schedule.lr, **settings, fused=True)
    except RuntimeError:  # "`fused=True` requires all the params to be ... of supported devices"
        opt = kind(params, lr=schedule.lr, **settings)
    if schedule.lr_schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=schedule.lr, total_steps=steps)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return opt, sched


def _freeze(model: nn.Module, freeze) -> None:
    names = dict(model.named_children())
    for name in freeze:
        if name not in names:
            raise ValueError(f"cannot freeze {name!r}: the model's layers are {', '.join(names)}.")
        for p in names[name].parameters():
            p.requires_grad_(False)


#: How many times :func:`fit` measures the test accuracy during training (evenly spaced, the
#: last epoch always among them). Once: the pages read only the final test accuracy, and each
#: measurement is a pass over the whole test set; ten of them took about 15 % of the training
#: time of the layer-transfer page's networks, which learn from a few labels.
TEST_EVALUATIONS = 1


def test_epochs(epochs: int, evaluations: int = TEST_EVALUATIONS) -> set[int]:
    """The epochs (counted from 1) after which the test accuracy is measured: ``evaluations``
    of them, evenly spaced, always including the last. Training on a few examples for many
    epochs would otherwise spend more time testing than training."""
    count = min(epochs, evaluations)
    return {round((k + 1) * epochs / count) for k in range(count)}


def _new_history() -> dict[str, list[float]]:
    """An empty training history, with the keys :func:`fit` documents."""
    return {"train_loss": [], "train_acc": [], "test_epoch": [], "test_acc": []}


class _EpochDraws:
    """One epoch's random draws for one seed, in the order training has always made them: the
    batch order, then the flips, then the colour gains and shifts (so a seed trained alone and
    in a batch of seeds sees the same batches)."""

    def __init__(self, n: int, shape, augment: str | None, g: torch.Generator, device):
        self.order = torch.randperm(n, generator=g).to(device)
        kinds = set((augment or "").split("+"))
        self.flips = (torch.rand(n, generator=g) < 0.5).to(device) if "flip" in kinds else None
        self.gains = self.shifts = None
        if "color" in kinds:
            c = shape[1]
            self.gains = torch.exp(0.4 * torch.randn(n, c, 1, 1, generator=g)).to(device)
            self.shifts = (0.4 * torch.randn(n, c, 1, 1, generator=g)).to(device)

    def augmented(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """The training examples ``idx`` of ``x``, augmented.

        In place on the gathered copy, and in ``x``'s layout: keep ``x`` in PyTorch's default
        layout, where a per-image, per-channel gain runs over whole rows of pixels (in
        ``channels_last`` its innermost run is three numbers, and the photo CNN's augmentation
        took twice as long). The values are those of flipping, then ``x * gain + shift``.
        """
        xb = x.index_select(0, idx)  # the rows of x[idx], gathered faster
        if self.flips is not None:
            flipped = self.flips[idx].nonzero().squeeze(1)
            xb.index_copy_(0, flipped, xb.index_select(0, flipped).flip(-1))
        if self.gains is not None:
            xb.mul_(self.gains[idx]).add_(self.shifts[idx])
        return xb


def _train(model, data, schedule, seed, device, frozen):
    x, y = data.x_train.to(device), data.y_train.to(device)
    layout = memory_format(model, device)
    if layout is not torch.contiguous_format:
        model.to(memory_format=layout)  # each batch follows once augmented (see _EpochDraws)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    n = len(y)
    steps_per_epoch = (n + schedule.batch_size - 1) // schedule.batch_size
    opt, sched = _optimizer(model, schedule, schedule.epochs * steps_per_epoch)
    g = torch.Generator().manual_seed(seed)
    history = _new_history()
    tested = test_epochs(schedule.epochs)
    try:
        from tqdm.auto import tqdm

        epochs = tqdm(range(schedule.epochs), disable=not sys.stderr.isatty(), leave=False)
    except ImportError:  # pragma: no cover - tqdm is a dependency, but keep training without it
        epochs = range(schedule.epochs)
    for epoch in epochs:
        model.train()
        # Frozen layers stay in eval mode: their batch-norm statistics do not move either.
        for name in frozen:
            getattr(model, name).eval()
        draws = _EpochDraws(n, x.shape, schedule.augment, g, device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for i in range(0, n, schedule.batch_size):
            idx = draws.order[i : i + schedule.batch_size]
            xb, yb = draws.augmented(x, idx).contiguous(memory_format=layout), y[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=schedule.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(idx)
            correct += (out.detach().argmax(1) == yb).sum()
        history["train_loss"].append(loss_sum.item() / n)
        history["train_acc"].append(correct.item() / n)
        if epoch + 1 in tested:
            history["test_epoch"].append(epoch + 1)
            history["test_acc"].append(evaluate(model, x_test, y_test)[1])
    model.eval()
    model.to(memory_format=torch.contiguous_format)  # the layout every page expects
    return history


def _build(config, seed: int) -> nn.Module:
    """The untrained model :func:`fit` starts from for ``seed`` (the one code path for both)."""
    runtime.seed_everything(seed)
    return config.build()


def _prepare(config, seed: int, init_state, freeze) -> nn.Module:
    """The model :func:`fit` trains for ``seed``: built, ``init_state`` loaded, ``freeze`` set."""
    model = _build(config, seed)
    if init_state is not None:
        missing = set(init_state) - set(model.state_dict())
        if missing:
            raise ValueError(f"init_state has weights the model lacks: {sorted(missing)}.")
        model.load_state_dict(init_state, strict=False)
    _freeze(model, freeze)
    return model


def initial_state(config, seed: int = 0) -> dict[str, torch.Tensor]:
    """The weights :func:`fit` starts from with this ``seed``: the untrained control network.

    Build it with ``model = config.build(); model.load_state_dict(initial_state(config, s))``,
    or use :func:`untrained`.
    """
    return {k: v.detach().clone() for k, v in _build(config, seed).state_dict().items()}


def untrained(config, seed: int = 0, device: torch.device | str | None = None) -> nn.Module:
    """The network :func:`fit` would start from with ``seed``, in eval mode on ``device``."""
    device = torch.device(device) if device is not None else runtime.device()
    return _build(config, seed).to(device).eval()


def batchable(model: nn.Module) -> bool:
    """Whether seeds of ``model`` can train together in one vectorised model
    (:func:`fit_seeds`): a network without dropout whose only buffers, if any, are batch
    normalisation's running statistics (stacked per seed like the weights)."""
    if any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules()):
        return False
    statistics = {
        id(b)
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        for b in m.buffers(recurse=False)
    }
    return all(id(b) in statistics for b in model.buffers())


def fit_seeds(
    config,
    data: Dataset | Sequence[Dataset],
    schedule: Schedule | None = None,
    seeds=None,
    *,
    init_states: Sequence[dict[str, torch.Tensor] | None] | None = None,
    freeze: tuple[str, ...] = (),
    together: bool | None = None,
    cache: bool = True,
    device: torch.device | str | None = None,
    verbose: bool = True,
) -> list[FitResult]:
    """:func:`fit` once per seed (default: :func:`layerwise.runtime.seeds`); a list of results.

    ``data`` is one dataset for every seed, or one per seed (of the same sizes); likewise
    ``init_states`` (default: none), while ``freeze`` holds for every seed. Seed ``s`` with its
    dataset and initial state gives what ``fit(config, data, schedule, seed=s,
    init_state=..., freeze=freeze)`` gives, under the same model-cache key.

    Small networks spend their CPU time on the overhead of each operation, not on arithmetic,
    so the seeds that are not in the model cache can train *together* (:func:`batchable`
    networks): their weights are stacked (``torch.func.stack_module_state``) and one step runs
    every seed's forward and backward pass at once (``torch.func.vmap`` over
    ``torch.func.functional_call``), each seed on its own batches, augmentation and test
    evaluations, with one optimiser whose every update is element-wise, so each seed's weights
    move as they would alone. Each seed is then cached under its own key, exactly as
    :func:`fit` would cache it. The result agrees with training each seed alone to
    floating-point rounding (a vectorised product adds in another order), not bit for bit. With
    batch normalisation, a convolution's bias ahead of it is the exception: its gradient is
    rounding noise alone (the normalisation subtracts the bias again), which Adam scales up to
    full steps: the bias and the running mean after it take a different random walk in the two
    ways of training, and the outputs in eval mode differ by a little more than rounding.

    ``together`` says when: ``True`` whenever the network is :func:`batchable`, ``False``
    never, and by default (``None``) for networks without batch normalisation. Vectorised
    convolutions with batch normalisation gained nothing on 2 CPU cores for most of the site's
    networks: five seeds took 0.96 to 1.4 times as long together as one after another
    (MNIST-1D, spoken-word and drawing CNNs), but half as long for the layer-transfer page's
    six-block 1-D CNN learning from 50 signals, which asks for it.
    """
    seeds = runtime.seeds() if seeds is None else list(seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must differ from each other, got {seeds}.")
    datasets = list(data) if isinstance(data, Sequence) else [data] * len(seeds)
    inits = list(init_states) if init_states is not None else [None] * len(seeds)
    if not len(datasets) == len(inits) == len(seeds):
        raise ValueError("give one dataset and one initial state per seed, or one for all.")
    runs = list(zip(seeds, datasets, inits, strict=True))
    schedule = schedule or Schedule()
    device = torch.device(device) if device is not None else runtime.device()
    trained = (
        _fit_together(config, runs, schedule, freeze, together, cache, device, verbose)
        if together is not False
        else {}
    )
    return [
        trained.get(s)
        or fit(
            config,
            d,
            schedule,
            seed=s,
            init_state=init,
            freeze=freeze,
            cache=cache,
            device=device,
            verbose=verbose,
        )
        for s, d, init in runs
    ]


def _fit_together(
    config, runs, schedule, freeze, together, cache, device, verbose
) -> dict[int, FitResult]:
    """The seeds :func:`fit_seeds` trains together, by seed: those of ``runs`` (seed, dataset,
    initial state) not in the cache, when there are several and ``together`` allows it for the
    network; otherwise none."""
    key = {s: _cache_key(config, d, schedule, s, init, freeze, device) for s, d, init in runs}
    missing = [r for r in runs if not (cache and (cache_dir() / f"{key[r[0]]}.pt").exists())]
    if len(missing) < 2 or len({len(d.y_train) for _, d, _ in missing}) > 1:
        return {}
    first = _prepare(config, missing[0][0], missing[0][2], freeze)
    if not batchable(first) or (together is None and list(first.buffers())):
        return {}
    models = [first, *(_prepare(config, s, init, freeze) for s, _, init in missing[1:])]
    models = [m.to(device) for m in models]
    seeds, datasets = [s for s, _, _ in missing], [d for _, d, _ in missing]
    started = time.perf_counter()
    histories = _train_batched(models, datasets, schedule, seeds, device, freeze)
    seconds = time.perf_counter() - started
    runtime.progress(
        f"{len(missing)} seeds of {type(config).__name__} trained together in {seconds:.1f} s"
    )
    results = {}
    for s, d, model, history in zip(seeds, datasets, models, histories, strict=True):
        # One line per seed, with its share of the time, as fit reports a network.
        _progress(config, s, schedule, d, seconds / len(missing), device)
        if cache:
            _save(cache_dir() / f"{key[s]}.pt", model, history)
        if verbose:
            how = _trained(schedule, d, seconds, device)
            _say(config, s, history, f"{how} ({len(missing)} seeds together)")
        results[s] = FitResult(model=model, history=history, from_cache=False, key=key[s])
    return results


def _train_batched(
    models, datasets, schedule, seeds, device, frozen=()
) -> list[dict[str, list[float]]]:
    """:func:`_train` for several seeds of one batchable network at once, seed ``seeds[i]``
    training ``models[i]`` on ``datasets[i]`` (see :func:`fit_seeds`); trains ``models`` in
    place and returns one history per seed."""
    from torch.func import functional_call, stack_module_state, vmap

    xs = [d.x_train.to(device) for d in datasets]
    ys = [d.y_train.to(device) for d in datasets]
    n, k = len(ys[0]), len(models)
    steps_per_epoch = (n + schedule.batch_size - 1) // schedule.batch_size
    params, buffers = stack_module_state(models)  # frozen weights stacked without gradients
    holder = nn.Module()  # the optimiser and schedule of _optimizer, over the stacked weights
    trainable = [name for name, p in params.items() if p.requires_grad]
    for i, name in enumerate(trainable):
        params[name] = nn.Parameter(params[name].detach())
        holder.register_parameter(f"p{i}", params[name])
    opt, sched = _optimizer(holder, schedule, schedule.epochs * steps_per_epoch)
    template = copy.deepcopy(models[0]).to("meta").train()
    for name in frozen:  # frozen layers stay in eval mode, as in _train
        getattr(template, name).eval()

    # Only the network runs under vmap. The loss of every seed's batch is one cross-entropy
    # call outside it: under vmap, PyTorch computes the loss through a Python decomposition,
    # which took a sixth of the course's dense network's step time.
    forward = vmap(lambda p, b, xb: functional_call(template, (p, b), (xb,)))
    # Seeds that share one dataset and no augmentation gather their batches in one indexing
    # operation, not one per seed and a stack.
    shared = all(d is datasets[0] for d in datasets) and not schedule.augment
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    histories = [_new_history() for _ in models]
    tested = test_epochs(schedule.epochs)
    for epoch in range(schedule.epochs):
        draws = [_EpochDraws(n, xs[0].shape, schedule.augment, g, device) for g in generators]
        order = torch.stack([d.order for d in draws])
        loss_sum = torch.zeros(k, device=device)
        correct = torch.zeros(k, device=device)
        for i in range(0, n, schedule.batch_size):
            idx = order[:, i : i + schedule.batch_size]
            if shared:  # index_select: the same rows as xs[0][idx], gathered in a third the time
                flat = idx.flatten()
                xb = xs[0].index_select(0, flat).unflatten(0, idx.shape)
                yb = ys[0].index_select(0, flat).view(idx.shape)
            else:
                xb = torch.stack(
                    [d.augmented(x, j) for d, x, j in zip(draws, xs, idx, strict=True)]
                )
                yb = torch.stack([y[j] for y, j in zip(ys, idx, strict=True)])
            out = forward(params, buffers, xb)
            smoothing = schedule.label_smoothing
            each = F.cross_entropy(
                out.flatten(0, 1), yb.flatten(), label_smoothing=smoothing, reduction="none"
            )
            losses = each.view(k, -1).mean(1)  # one mean loss per seed
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()  # seed s's loss depends on slice s only: its own gradient
            opt.step()
            sched.step()
            loss_sum += losses.detach() * yb.shape[1]
            correct += (out.detach().argmax(-1) == yb).sum(1)
        tests = epoch + 1 in tested
        for s, (model, history) in enumerate(zip(models, histories, strict=True)):
            history["train_loss"].append(loss_sum[s].item() / n)
            history["train_acc"].append(correct[s].item() / n)
            if tests or epoch + 1 == schedule.epochs:
                _load_slice(model, params, buffers, s)
            if tests:
                d = datasets[s]
                history["test_epoch"].append(epoch + 1)
                history["test_acc"].append(
                    evaluate(model, d.x_test.to(device), d.y_test.to(device))[1]
                )
    for model in models:
        model.eval()
    return histories


@torch.no_grad()
def _load_slice(model: nn.Module, stacked: dict[str, torch.Tensor], buffers, s: int) -> None:
    """Copy seed ``s``'s weights and buffers out of the stacked ones into ``model``."""
    for name, p in model.named_parameters():
        p.copy_(stacked[name][s])
    for name, b in model.named_buffers():
        b.copy_(buffers[name][s])


def fit(
    config,
    data: Dataset,
    schedule: Schedule | None = None,
    *,
    seed: int = 0,
    init_state: dict[str, torch.Tensor] | None = None,
    freeze: tuple[str, ...] = (),
    cache: bool = True,
    device: torch.device | str | None = None,
    verbose: bool = True,
) -> FitResult:
    """Build ``config``'s model with ``seed`` and train it on ``data`` (or load it from the cache).

    Parameters
    ----------
    config
        A model configuration with ``build()`` and ``to_dict()``, e.g.
        :class:`~layerwise.models.CNNConfig`.
    data
        The dataset; its training split is used for training, its test split for the
        test accuracy in the history (measured after the epochs :func:`test_epochs` names).
    schedule
        Epochs, batch size, optimiser, learning rate and augmentation (default:
        :class:`Schedule`).
    seed
        Seeds the initial weights, the batch order and the augmentation.
    init_state
        Weights to load after building (a partial state dict is allowed), e.g. layers copied
        from another network.
    freeze
        Names of top-level layers whose parameters are not trained.
    cache
        Look the result up in, and save it to, the model cache.
    device
        Where to train (default: :func:`layerwise.runtime.device`).
    verbose
        Print one line saying what was trained (or loaded) and how well it does.

    Returns
    -------
    FitResult
        The model in eval mode on ``device``, and its history: per-epoch ``train_loss`` and
        ``train_acc``; ``test_acc`` after each epoch listed in ``test_epoch`` (the last one
        always among them).
    """
    schedule = schedule or Schedule()
    device = torch.device(device) if device is not None else runtime.device()
    model = _prepare(config, seed, init_state, freeze)
    key = _cache_key(config, data, schedule, seed, init_state, freeze, device)
    path = cache_dir() / f"{key}.pt"
    history = _load(path, model) if cache else None
    from_cache = history is not None
    model.to(device)
    started = time.perf_counter()
    if not from_cache:
        history = _train(model, data, schedule, seed, device, freeze)
        _progress(config, seed, schedule, data, time.perf_counter() - started, device)
        if cache:
            _save(path, model, history)
    model.eval()
    if verbose:
        _say(
            config,
            seed,
            history,
            "loaded from the model cache"
            if from_cache
            else _trained(schedule, data, time.perf_counter() - started, device),
        )
    return FitResult(model=model, history=history, from_cache=from_cache, key=key)


def _progress(config, seed: int, schedule: Schedule, data: Dataset, seconds: float, device):
    """The build-terminal line about one trained network (read back by the benchmark)."""
    runtime.trained(
        f"{type(config).__name__} seed {seed}: {schedule.epochs} epochs on "
        f"{len(data.y_train)} examples",
        seconds,
        device.type,
    )


def _trained(schedule: Schedule, data: Dataset, seconds: float, device) -> str:
    return (
        f"trained {schedule.epochs} epochs on {len(data.y_train)} images in {seconds:.1f} s "
        f"on {device.type}"
    )


def _say(config, seed: int, history: dict[str, list[float]], how: str) -> None:
    """The line :func:`fit` prints about a network: ``how`` it was made, and how well it does."""
    print(
        f"{type(config).__name__} (seed {seed}): {how}; "
        f"train accuracy {history['train_acc'][-1]:.3f}, "
        f"test accuracy {history['test_acc'][-1]:.3f}"
    )
