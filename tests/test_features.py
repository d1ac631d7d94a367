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


def _small_cnn(seed=0):
    torch.manual_seed(seed)
    return models.CNNConfig(in_channels=3, num_classes=4, widths=(6, 8),
                            kernel_sizes=(5, 3), strides=(2, 1)).build().eval()  # fmt: skip


def test_top_activations_are_the_argmax_patches():
    model = _small_cnn()
    x = torch.randn(40, 3, 24, 24)
    top = features.top_activations(model, x, "relu2", [1, 5, 7], k=4, batch_size=7)
    maps = features.extract(model, x, ["relu2"])["relu2"]
    assert top.image.shape == top.row.shape == top.col.shape == top.value.shape == (3, 4)
    for i, c in enumerate(top.channels):
        peaks = maps[:, c].flatten(1).max(dim=1).values
        # The k inputs with the highest peaks, in decreasing order ...
        assert torch.equal(top.image[i], peaks.argsort(descending=True, stable=True)[:4])
        for j in range(4):
            n, r, q = int(top.image[i, j]), int(top.row[i, j]), int(top.col[i, j])
            # ... each at the position where the channel really peaks.
            assert maps[n, c, r, q] == maps[n, c].max() == top.value[i, j]
    assert (top.value[:, :-1] >= top.value[:, 1:]).all()


def test_top_activations_of_layers_are_those_of_each_layer_alone():
    # One forward pass for several layers gives each layer's own top_activations, in a network
    # that runs channels_last (multiples of 8 channels) and with ReLU maps full of tied zeros.
    torch.manual_seed(0)
    model = models.CNNConfig(in_channels=3, num_classes=4, widths=(8, 16)).build().eval()
    x = torch.randn(30, 3, 16, 16)
    both = features.top_activations_of_layers(model, x, ["relu1", "relu2"], k=5, batch_size=7)
    for name in ("relu1", "relu2"):
        alone = features.top_activations(model, x, name, k=5, batch_size=7)
        maps = features.extract(model, x, [name])[name]
        value, pos = maps.flatten(2).max(dim=2)  # first maximum in row-major order
        order = value.T.sort(dim=1, descending=True, stable=True).indices[:, :5]
        for top in (both[name], alone):
            assert top.channels == alone.channels
            assert torch.equal(top.image, order)
            assert torch.equal(top.value, value.T.gather(1, order))
            assert torch.equal(top.row * maps.shape[-1] + top.col, pos.T.gather(1, order))


def test_top_activations_of_chosen_channels_are_those_rows_of_all_channels():
    torch.manual_seed(0)
    model = models.CNNConfig(in_channels=3, num_classes=4, widths=(8, 16)).build().eval()
    x = torch.randn(20, 3, 16, 16)
    every = features.top_activations(model, x, "relu2", k=4, batch_size=6)
    some = features.top_activations(model, x, "relu2", channels=range(3, 0, -1), k=4, batch_size=6)
    assert every.channels == tuple(range(16)) and some.channels == (3, 2, 1)
    for field in ("image", "row", "col", "value"):
        assert torch.equal(getattr(some, field), getattr(every, field)[[3, 2, 1]])


def test_extract_reduce_keeps_only_the_reduced_outputs():
    torch.manual_seed(0)
    model = models.CNNConfig(in_channels=3, num_classes=4, widths=(8, 16)).build().eval()
    x = torch.randn(11, 3, 16, 16)
    full = features.extract(model, x, ["relu1", "relu2"], batch_size=4)
    peaks = features.extract(
        model, x, ["relu1", "relu2"], batch_size=4, reduce=lambda a: a.amax(dim=(2, 3))
    )
    for name in full:
        assert torch.equal(peaks[name], full[name].amax(dim=(2, 3)))


def test_top_activations_checks_its_arguments():
    model = _small_cnn()
    with pytest.raises(ValueError, match="k must be in 1..3"):
        features.top_activations(model, torch.randn(3, 3, 16, 16), "conv1", k=5)
    with pytest.raises(ValueError, match="needs feature maps"):
        features.top_activations(model, torch.randn(3, 3, 16, 16), "fc", k=2)


def test_crop_cuts_the_window_and_fills_outside():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    out = features.crop(x, torch.tensor([1, -2]), torch.tensor([2, 4]), 3, fill=-1.0)
    assert out.shape == (2, 1, 3, 3)
    assert torch.equal(out[0, 0], x[0, 0, 1:4, 2:5])
    # Window at rows -2..0, cols 4..6: only the top row's first two columns lie inside.
    expected = torch.full((3, 3), -1.0)
    expected[2, :2] = x[1, 0, 0, 4:6]
    assert torch.equal(out[1, 0], expected)
    # One image, several corners.
    many = features.crop(x[0], torch.tensor([0, 3]), torch.tensor([0, 3]), 3)
    assert torch.equal(many[1, 0], x[0, 0, 3:6, 3:6])


def test_extract_runs_in_the_training_layout_and_hands_the_model_back_as_it_was():
    # A network whose convolutions all have a multiple of 8 channels runs channels_last on the
    # CPU (as it trains); its outputs agree with a plain forward pass, and the caller's model
    # keeps its layout.
    torch.manual_seed(0)
    model = models.CNNConfig(in_channels=3, num_classes=4, widths=(8, 16)).build().eval()
    x = torch.randn(10, 3, 16, 16)
    seen = []
    model.conv2.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    out = features.extract(model, x, ["pool2", "fc"], batch_size=4)
    assert seen and all(seen)
    assert model.conv1.weight.is_contiguous() and not model.training
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(out["fc"], expected, rtol=1e-5, atol=1e-5)
    model.to(memory_format=torch.channels_last)
    features.extract(model, x, ["fc"])
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_layer_outputs_of_modules_stop_the_forward_pass_once_read(monkeypatch):
    # Module names are read with hooks, without tracing, and the layers after the last one
    # asked for do not run; the values are those of running the layers in order.
    import torchvision.models.feature_extraction as fx

    def no_tracing(*args, **kwargs):
        raise AssertionError("traced")

    monkeypatch.setattr(fx, "create_feature_extractor", no_tracing)
    torch.manual_seed(0)
    model = models.CNNConfig(in_channels=1, num_classes=3, widths=(4, 8)).build().eval()
    ran = []
    model.fc.register_forward_pre_hook(lambda m, args: ran.append("fc"))
    x = torch.randn(5, 1, 12, 12, requires_grad=True)
    out = features.layer_outputs(model, ["relu1", "pool2"])(x)
    assert set(out) == {"relu1", "pool2"} and ran == []
    h, expected = x, {}
    for name, layer in model.named_children():
        h = expected[name] = layer(h)
        if name == "pool2":
            break
    for name in ("relu1", "pool2"):
        assert torch.equal(out[name], expected[name])
    (grad,) = torch.autograd.grad(out["pool2"].sum(), x)  # gradients reach the input
    assert grad.abs().sum() > 0
    model(x)
    assert ran == ["fc"]  # the hook is still there: only the extraction stopped early


def test_layer_outputs_names_a_module_the_forward_pass_never_calls():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    model.add_module("unused", torch.nn.Linear(2, 2))
    model.forward = lambda x: model[0](x)
    with pytest.raises(ValueError, match="'unused' not called"):
        features.layer_outputs(model, ["unused"])(torch.randn(4, 3))
