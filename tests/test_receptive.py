import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from layerwise import models
from layerwise.receptive import (
    ReceptiveField,
    effective_receptive_field,
    gradient_receptive_field,
    receptive_field,
)


def test_two_small_filters_see_six_pixels():
    """Two filters in a row, 3x3 then 4x4: each unit sees 3 + 4 - 1 = 6 input pixels a side."""
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 4))
    rf = receptive_field(net, (10, 12))
    assert rf["0"] == ReceptiveField((3, 3), (1, 1), (1.0, 1.0), (8, 10))
    assert rf["1"] == ReceptiveField((6, 6), (1, 1), (2.5, 2.5), (5, 7))
    assert rf["1"].box(0, 0) == (0, 0, 6, 6)
    assert rf["1"].box(4, 6) == (4, 6, 10, 12)


def test_site_cnn_by_hand():
    config = models.CNNConfig(widths=(8, 8, 8), kernel_sizes=(7, 3, 3), strides=(2, 1, 1))
    rf = receptive_field(config.build(), (32, 32))
    # conv1 7/2 pad 3 -> 7, jump 2, centre 0; pool 2/2 -> 9, jump 4, centre 1; conv 3 -> 17 ...
    assert [rf[n].size[0] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3")] == [
        7,
        9,
        17,
        21,
        37,
        45,
    ]
    assert [rf[n].stride[0] for n in ("conv1", "pool1", "pool2", "pool3")] == [2, 4, 8, 16]
    assert rf["pool1"].start == (1.0, 1.0)
    assert rf["pool3"].shape == (2, 2)
    assert rf["fc"].shape == (1, 1)
    assert list(rf)[:4] == ["conv1", "bn1", "relu1", "pool1"]


def test_vgg16_matches_the_published_table():
    """Araujo et al. (2019): vgg_16 pool1..pool5 = 6, 16, 44, 100, 212, stride 32, padding 90."""
    with torch.device("meta"):  # no weights are needed, so none are allocated
        net = torchvision.models.vgg16(weights=None)
    rf = receptive_field(net, (224, 224))
    pools = [f"features.{i}" for i in (4, 9, 16, 23, 30)]
    assert [rf[p].size for p in pools] == [(r, r) for r in (6, 16, 44, 100, 212)]
    assert rf["features.30"].stride == (32, 32)
    last = rf["features.30"]
    assert (last.size[0] - 1) / 2 - last.start[0] == 90  # effective padding


def test_resnet50_is_read_from_its_graph_without_running_it():
    net = torchvision.models.resnet50(weights=None)
    computed = []  # layers that computed a tensor (tracing passes symbolic proxies instead)
    for module in net.modules():
        module.register_forward_hook(
            lambda module, args, out: computed.append(isinstance(out, torch.Tensor))
        )
    rf = receptive_field(net, 224)
    assert computed and not any(computed)
    assert rf["layer4"].stride == (32, 32)


# -- the analytic fields against the gradient method --------------------------------------------


@st.composite
def stacks(draw):
    """A random chain of convolutions and pools, with an input large enough to measure it."""
    layers, size, jump = [], 1, 1
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg"]))
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, 2))
        if kind == "conv":
            d = draw(st.integers(1, 2))
            p = draw(st.integers(0, (d * (k - 1) + 1) // 2 + 1))
            layers.append(nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d))
        else:
            k = max(k, 2)
            p = draw(st.integers(0, k // 2))
            ceil = draw(st.booleans())
            if kind == "max":
                d = draw(st.integers(1, 2))
                layers.append(nn.MaxPool2d(k, s, padding=p, dilation=d, ceil_mode=ceil))
            else:
                d = 1
                layers.append(nn.AvgPool2d(k, s, padding=p, ceil_mode=ceil))
        size += d * (k - 1) * jump
        jump *= s
    height = size + 6 * jump + draw(st.integers(0, 5))
    width = size + 6 * jump + draw(st.integers(0, 5))
    return nn.Sequential(*layers), (height, width)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(stacks())
def test_random_stacks_agree_with_the_gradient_method(case):
    net, size = case
    fields = receptive_field(net, size)
    for name in fields:
        if min(fields[name].shape) >= 2:
            assert gradient_receptive_field(net, name, size) == fields[name], name


class TwoBranches(nn.Module):
    """An inception-like block: concatenated branches of different sizes, plus a residual."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.a = nn.Conv2d(2, 2, 3, padding=1)
        self.b = nn.Sequential(nn.Conv2d(2, 2, 5, padding=4, dilation=2), nn.ReLU())
        self.c = nn.Conv2d(2, 2, 2, padding=0)  # even kernel: its centre is off by half a pixel
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)

    def forward(self, x):
        x = self.stem(x)
        y = torch.cat([self.a(x), self.b(x)], dim=1)
        z = self.c(torch.nn.functional.pad(y, (1, 0, 1, 0))) + x
        return self.pool(z)


def test_branches_take_the_union_and_agree_with_the_gradient_method():
    net = TwoBranches()
    fields = receptive_field(net, 64)
    assert fields["b"].size == (19, 19)  # 3 + 2 * 2 * (5 - 1)
    assert fields["cat"].size == fields["b"].size
    for name in ("a", "b", "cat", "c", "add", "pool"):
        assert gradient_receptive_field(net, name, 64) == fields[name], name


def _meta(name):
    with torch.device("meta"):  # the architecture only: no weights are allocated
        return getattr(torchvision.models, name)(weights=None)


@pytest.mark.parametrize(
    ("name", "size", "layers"),
    [
        ("alexnet", 352, ["features.2", "features.5", "features.12"]),
        ("vgg16", 448, ["features.4", "features.16", "features.30"]),
        ("resnet18", 512, ["maxpool", "layer1", "layer2.0.add", "layer3", "layer4"]),
        ("resnet50", 512, ["layer1.2.conv2", "layer2", "layer3.0.downsample", "layer4"]),
        ("mobilenet_v2", 544, ["features.3", "features.7.conv.1", "features.14", "features.18"]),
    ],
)
def test_torchvision_models_agree_with_the_gradient_method(name, size, layers):
    net = _meta(name)
    if name == "alexnet":  # its adaptive pool is uneven at this size; the features are enough
        net = net.features
        layers = [n.removeprefix("features.") for n in layers]
    fields = receptive_field(net, size)
    for layer in layers:
        assert gradient_receptive_field(net, layer, size) == fields[layer], layer


def test_published_sizes_where_the_architectures_match():
    """Araujo et al. (2019), TF-Slim models: alexnet_v2 195/32, vgg_16 212/32 (padding 90).

    torchvision's ResNet-50 puts the stride on the 3x3 convolution (ResNet v1.5), where TF-Slim's
    resnet_v1_50 (483) has it on the 1x1; one stride-2 3x3 convolution sits later in each stage,
    which makes 427. torchvision's MobileNetV2 is not TF-Slim's mobilenet_v1 (315); its 491 is
    checked against the gradient method on smaller layers below.
    """
    alexnet = receptive_field(_meta("alexnet"), 224)["features"]
    assert (alexnet.size, alexnet.stride) == ((195, 195), (32, 32))
    vgg = receptive_field(_meta("vgg16"), 224)["features"]
    assert (vgg.size, vgg.stride, vgg.start) == ((212, 212), (32, 32), (15.5, 15.5))
    for name, last, size in [("resnet50", "layer4", 427), ("mobilenet_v2", "features", 491)]:
        field = receptive_field(_meta(name), 224)[last]
        assert (field.size, field.stride) == ((size, size), (32, 32))


# -- errors ---------------------------------------------------------------------------------------


def test_unsupported_layer_is_named():
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2))
    with pytest.raises(ValueError, match=r"'1' is a Upsample"):
        receptive_field(net, 16)


def test_squeeze_excitation_is_refused():
    with pytest.raises(ValueError, match="squeeze-excitation"):
        receptive_field(_meta("mobilenet_v3_small"), 224)


def test_input_smaller_than_the_field():
    net = nn.Sequential(nn.Conv2d(1, 1, 5), nn.MaxPool2d(2), nn.Conv2d(1, 1, 5))
    with pytest.raises(ValueError, match="input is too small.*'2'"):
        receptive_field(net, 10)
    assert receptive_field(net, 14)["2"].shape == (1, 1)
    with pytest.raises(ValueError, match="input is too small"):
        gradient_receptive_field(net, "2", 16)  # a 2x2 map, but the field reaches the border


class Untraceable(nn.Module):
    """Data-dependent control flow defeats torch.fx; the branch defeats the hook fallback."""

    def __init__(self, chain: bool):
        super().__init__()
        self.chain = chain
        self.conv1 = nn.Conv2d(1, 1, 3)
        self.conv2 = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        if x.sum() > 0:  # not traceable
            x = -x
        y = self.conv1(x)
        return self.conv2(y) if self.chain else self.conv2(y) + self.conv1(x)[..., :1, :1]


def test_chains_that_do_not_trace_are_read_with_hooks():
    fields = receptive_field(Untraceable(chain=True), 12)
    assert fields["conv2"] == ReceptiveField((5, 5), (1, 1), (1.0, 1.0), (10, 10))


def test_model_that_neither_traces_nor_hooks():
    with pytest.raises(ValueError, match="not a plain chain"):
        receptive_field(Untraceable(chain=False), 12)

    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 1, 3)

        def forward(self, x):
            if x.sum() > 0:
                pass
            return self.conv(x[:, :1])  # wrong channel count: the model cannot run

    with pytest.raises(ValueError, match="neither be traced"):
        receptive_field(Broken(), 12)


# -- the effective receptive field ----------------------------------------------------------------


def test_effective_field_of_a_linear_stack_has_the_textbook_width():
    """n uniform 3x3 linear layers: the gradient map is the n-fold kernel, std sqrt(2n/3)."""
    for n in (1, 4, 9):
        net = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1, bias=False) for _ in range(n)])
        with torch.no_grad():
            for conv in net:
                conv.weight.fill_(1.0)
        erf = effective_receptive_field(net, str(n - 1), 41, n_samples=2)
        assert erf.std[0] == pytest.approx((2 * n / 3) ** 0.5, rel=1e-4)
        assert erf.centre == pytest.approx((20.0, 20.0))
        assert float(erf.map.sum()) == pytest.approx(1.0)


def test_effective_field_averages_over_initialisations():
    def build():
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1)
        )

    erf = effective_receptive_field(build, "2", 15, n_samples=4)
    assert erf.map.shape == (15, 15)
    support = erf.map > 0
    assert support.sum() <= 25 and support[7, 7]  # inside the 5x5 theoretical field
