import pytest
import torch

from layerwise import readout, receptive


def test_centre_unit_keeps_the_centre_position():
    x = torch.arange(2 * 3 * 5 * 4, dtype=torch.float32).reshape(2, 3, 5, 4)
    out = readout.CentreUnit()(x)
    assert out.shape == (2, 3)
    assert torch.equal(out, x[:, :, 2, 1])


def test_the_class_depends_only_on_the_centre_units_field():
    config = readout.CentreUnitCNNConfig(depth=3, width=4, batchnorm=False)
    assert config.field == 7
    torch.manual_seed(0)
    model = config.build().eval()
    # Many inputs: with one, a few dead ReLUs could hide part of the field. Without batch
    # normalisation the inputs do not interact, so the union of their supports is the field.
    x = torch.randn(32, 1, 15, 15, requires_grad=True)
    model(x).sum().backward()
    support = x.grad.abs().sum((0, 1)) > 0
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    # centre (7, 7), field 7: rows and columns 4..10 and nothing else
    assert rows.tolist() == list(range(4, 11))
    assert cols.tolist() == list(range(4, 11))


def test_layers_are_named_like_the_other_models_and_the_erf_can_be_measured():
    config = readout.CentreUnitCNNConfig(depth=2, width=4)
    torch.manual_seed(0)
    model = config.build()
    names = [n for n, _ in model.named_children()]
    assert names == ["conv1", "bn1", "relu1", "conv2", "bn2", "relu2", "centre", "fc"]
    assert model(torch.randn(3, 1, 9, 9)).shape == (3, 10)
    erf = receptive.effective_receptive_field(model, "relu2", 9, n_samples=4)
    assert erf.unit == (4, 4)
    assert config.to_dict()["type"] == "CentreUnitCNNConfig"


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="odd"):
        readout.CentreUnitCNNConfig(kernel_size=4)
    with pytest.raises(ValueError, match="positive"):
        readout.CentreUnitCNNConfig(depth=0)
