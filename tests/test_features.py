import pytest
import torch

from layerwise import features, models


def test_extract_returns_the_documented_shapes():
    model = models.CNNConfig(in_channels=3, num_classes=4, widths=(8, 16),
                             kernel_sizes=(5, 3), strides=(2, 1)).build()  # fmt: skip
    x = torch.randn(5, 3, 32, 32)
    out = features.extract(model, x, ["conv1", "pool1", "relu2", "fc"], batch_size=2)
    assert out["conv1"].shape == (5, 8, 16, 16)
    assert out["pool1"].shape == (5, 8, 8, 8)
    assert out["relu2"].shape == (5, 16, 8, 8)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(out["fc"], model(x), atol=1e-5)
        assert torch.allclose(out["conv1"], model.conv1(x), atol=1e-5)


def test_unknown_layer_lists_the_real_ones():
    model = models.CNNConfig(widths=(4,), kernel_sizes=(3,)).build()
    with pytest.raises(ValueError, match="'conv7' not in the model; its layers are conv1, bn1"):
        features.extract(model, torch.zeros(1, 3, 8, 8), ["conv7"])


def test_layer_names_by_kind():
    model = models.CNNConfig(widths=(4, 4), kernel_sizes=(3, 3)).build()
    assert features.layer_names(model, torch.nn.Conv2d) == ["conv1", "conv2"]
