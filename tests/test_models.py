import pytest
import torch
from torch import nn

from layerwise import features, models


def test_cnn_layers_are_named_and_shapes_flow():
    model = models.CNNConfig(in_channels=3, num_classes=5, widths=(8, 16)).build()
    names = [name for name, _ in model.named_children()]
    assert names == ["conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2",
                     "gap", "flatten", "fc"]  # fmt: skip
    assert features.layer_names(model, nn.Conv2d) == ["conv1", "conv2"]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 5)
    assert model.config.widths == (8, 16)


def test_cnn_options_change_the_architecture():
    cfg = models.CNNConfig(widths=(4, 4), kernel_sizes=(7, 3), strides=(2, 1),
                           pools=(False, True), batchnorm=False)  # fmt: skip
    model = cfg.build()
    assert not hasattr(model, "bn1") and not hasattr(model, "pool1")
    assert model.conv1.stride == (2, 2) and model.conv1.kernel_size == (7, 7)
    assert model.conv1.padding == (3, 3)


def test_first_layer_init_scale():
    torch.manual_seed(0)
    full = models.CNNConfig().build().conv1.weight
    torch.manual_seed(0)
    small = models.CNNConfig(conv1_init_scale=0.1).build().conv1.weight
    assert torch.allclose(small, 0.1 * full)


def test_mismatched_lengths_are_clear_errors():
    with pytest.raises(ValueError, match="kernel_sizes has 2 entries but widths has 3"):
        models.CNNConfig(widths=(1, 2, 3), kernel_sizes=(3, 3))
    with pytest.raises(ValueError, match="at least one convolution"):
        models.CNNConfig(widths=())


def test_mlp():
    model = models.MLPConfig(in_features=400, hidden=(25, 15), num_classes=10).build()
    assert [n for n, _ in model.named_children()] == [
        "flatten",
        "fc1",
        "act1",
        "fc2",
        "act2",
        "out",
    ]
    assert model(torch.zeros(3, 1, 20, 20)).shape == (3, 10)
    with pytest.raises(ValueError, match="activation 'gelu'"):
        models.MLPConfig(activation="gelu")
