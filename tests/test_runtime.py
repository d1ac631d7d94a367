import numpy as np
import pytest
import torch

from layerwise import runtime


def test_profile_defaults_and_picks(monkeypatch):
    monkeypatch.delenv("LAYERWISE_PROFILE")
    assert runtime.profile() == "default"
    assert runtime.pick(quick=1, default=2, full=3) == 2
    monkeypatch.setenv("LAYERWISE_PROFILE", "FULL")
    assert runtime.pick(quick=1, default=2, full=3) == 3


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LAYERWISE_PROFILE", "fast")
    with pytest.raises(ValueError, match="not a build profile.*quick, default, full"):
        runtime.profile()


def test_device_override(monkeypatch):
    monkeypatch.setenv("LAYERWISE_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")
    monkeypatch.setenv("LAYERWISE_DEVICE", "tpu-please")
    with pytest.raises(ValueError, match="not a device name"):
        runtime.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_requesting_missing_cuda_says_so(monkeypatch):
    monkeypatch.setenv("LAYERWISE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="no CUDA device"):
        runtime.device()


def test_seed_everything_repeats_every_generator():
    def draw():
        runtime.seed_everything(123)
        import random

        return random.random(), np.random.rand(), torch.rand(3)  # noqa: NPY002

    a, b = draw(), draw()
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    runtime.seed_everything(124)
    assert not torch.equal(torch.rand(3), a[2])


def test_seed_everything_asks_for_deterministic_kernels_without_loading_the_compiler():
    # The public torch.use_deterministic_algorithms imports TorchInductor (seconds a process);
    # seed_everything sets the same flag, in a fresh process, without that import.
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from layerwise import runtime\n"
        "runtime.seed_everything(0)\n"
        "print(torch.are_deterministic_algorithms_enabled(),\n"
        "      torch.is_deterministic_algorithms_warn_only_enabled(),\n"
        "      'torch._inductor' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"]


def test_seed_everything_sets_the_compiler_s_flag_too_once_it_is_loaded():
    import torch._inductor.config as inductor_config

    inductor_config.deterministic = False
    runtime.seed_everything(0)
    assert inductor_config.deterministic and torch.are_deterministic_algorithms_enabled()


def test_seed_everything_does_not_fill_new_tensors():
    # Deterministic mode fills every new tensor with NaN unless told not to: a pass over each
    # intermediate result that Layerwise's kernels do not need (they write what they read).
    torch.utils.deterministic.fill_uninitialized_memory = True
    runtime.seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory


def test_progress_lines_reach_the_terminal_only_inside_a_site_build(monkeypatch, capfd):
    monkeypatch.delenv("LAYERWISE_PROGRESS", raising=False)
    runtime.progress("rendering 4 units")
    assert capfd.readouterr().err == ""
    monkeypatch.setenv("LAYERWISE_PROGRESS", "1")
    monkeypatch.setenv("LAYERWISE_PAGE", "plot_render")
    runtime.progress("rendering 4 units")
    assert capfd.readouterr().err == "layerwise: plot_render: rendering 4 units\n"


def test_trained_lines_say_what_in_how_many_seconds_and_where(monkeypatch, capfd):
    monkeypatch.setenv("LAYERWISE_PROGRESS", "1")
    monkeypatch.setenv("LAYERWISE_PAGE", "plot_x")
    runtime.trained("MLPConfig seed 3: 2 epochs on 100 examples", 1.25, "cpu")
    runtime.trained("2 networks together (3-bit parity, depth 1)", 12.04)
    assert capfd.readouterr().err.splitlines() == [
        "layerwise: plot_x: trained MLPConfig seed 3: 2 epochs on 100 examples in 1.2 s (cpu)",
        "layerwise: plot_x: trained 2 networks together (3-bit parity, depth 1) in 12.0 s",
    ]
