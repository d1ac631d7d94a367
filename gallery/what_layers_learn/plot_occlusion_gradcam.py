"""
Where does the network look?
============================

Which parts of an image does a decision depend on? Two standard answers, both computed here
with `Captum <https://captum.ai>`_ :cite:`kokhlikyan2020captum`, PyTorch's attribution library:

* **occlusion** :cite:`zeiler2014visualizing`: cover a patch of the image with grey and see how
  much the score of the class drops; slide the patch everywhere;
* **Grad-CAM** :cite:`selvaraju2017gradcam`: weight each channel of a layer's feature maps by
  the average gradient of the class score with respect to it, sum, keep the positive part.
  Computed at different depths, it shows at what resolution each layer "sees" the evidence.
"""

# %%
# The network and the images
# --------------------------
# The photo-patch network of :ref:`sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py`
# (from the model cache), which tells which of twelve photographs a 32x32 patch was cut from.
# Up to its global average pooling, a convolutional network accepts any image size, so we show
# it larger crops of the photographs, at their original resolution (the scale it was trained
# on). Parts of these crops were seen in training.
import matplotlib.pyplot as plt
import torch
from captum.attr import LayerAttribution, LayerGradCam, Occlusion

from layerwise import data, runtime, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
model = recipe.fit(seed=0).model.cpu()

side = runtime.pick(quick=64, default=128, full=192)


def crop(name, top, left):
    """A ``side`` x ``side`` crop of a bundled photograph, standardised like the patches."""
    img = data.photo(name)[top : top + side, left : left + side]
    return patches.normalize(torch.from_numpy(img).permute(2, 0, 1).float() / 255.0)


def pixels(x):
    return patches.denormalize(x).permute(1, 2, 0).numpy()


# A composite: the left half from one photograph, the right half from another.
left_name, right_name = "coffee", "chelsea"
composite = torch.cat(
    [crop(left_name, 150, 150)[:, :, : side // 2], crop(right_name, 60, 130)[:, :, side // 2 :]],
    dim=2,
)
images = {
    "astronaut": crop("astronaut", 40, 160),
    "rocket": crop("rocket", 100, 200),
    "composite": composite,
}
with torch.no_grad():
    for title, x in images.items():
        p = model(x[None]).softmax(1)[0]
        best = p.topk(2)
        print(
            f"{title:>9}: "
            + ", ".join(f"{patches.classes[i]} {v:.2f}" for v, i in zip(*best, strict=True))
        )

# %%
# Attributions
# ------------
# Occlusion slides a grey window (zero after standardisation, i.e. the mean colour) of a
# sixth of the image; Grad-CAM is computed at the output of each block's ReLU and upsampled to
# the image with ``LayerAttribution.interpolate``.
window = side // 6
occlusion = Occlusion(model)
layers = ["relu1", "relu2", "relu3"]
cams = {name: LayerGradCam(model, getattr(model, name)) for name in layers}


def attributions(x, target):
    x = x[None]
    occ = occlusion.attribute(
        x,
        target=target,
        sliding_window_shapes=(3, window, window),
        strides=(3, window // 2, window // 2),
        baselines=0.0,
        perturbations_per_eval=64,
    )
    out = {"occlusion": occ[0].sum(0)}
    for name, cam in cams.items():
        a = cam.attribute(x, target=target, relu_attributions=True)
        out[f"Grad-CAM {name}\n({a.shape[-2]}x{a.shape[-1]})"] = LayerAttribution.interpolate(
            a, (side, side), interpolate_mode="bilinear"
        )[0, 0]
    return {k: v.detach() for k, v in out.items()}


def draw(fig, x, maps, title):
    axes = fig.subplots(1, 1 + len(maps))
    axes[0].imshow(pixels(x))
    axes[0].set_title(title, fontsize=9)
    for ax, (name, m) in zip(axes[1:], maps.items(), strict=True):
        ax.imshow(pixels(x))
        ax.imshow(m.numpy(), cmap="magma", alpha=0.65)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_axis_off()


# %%
# Two photographs: attributions for their own class.
fig = plt.figure(figsize=(11, 5.4), layout="constrained")
rows = fig.subfigures(2, 1)
for row, name in zip(rows, ["astronaut", "rocket"], strict=True):
    target = patches.classes.index(name)
    draw(row, images[name], attributions(images[name], target), f"{name}: class '{name}'")
fig.suptitle("Occlusion and Grad-CAM per layer (bright = the class score depends on it)")
plt.show()

# %%
# A test with a known answer
# --------------------------
# In the composite, evidence for the left photograph lies in the left half and evidence for the
# right one in the right half. Attributions for each class should land on its own half.
fig = plt.figure(figsize=(11, 5.4), layout="constrained")
rows = fig.subfigures(2, 1)
share = {}
for row, name in zip(rows, [left_name, right_name], strict=True):
    maps = attributions(composite, patches.classes.index(name))
    draw(row, composite, maps, f"composite: class '{name}'")
    half = slice(0, side // 2) if name == left_name else slice(side // 2, side)
    for method, m in maps.items():
        positive = m.clamp_min(0)
        share[(name, method.split("\n")[0])] = (
            positive[:, half].sum() / positive.sum().clamp_min(1e-12)
        ).item()
fig.suptitle(f"Left half: {left_name}; right half: {right_name}")
plt.show()

for (name, method), value in share.items():
    print(f"class {name:>8}, {method:>16}: {value:.2f} of the positive attribution on its half")

# %%
# What it shows
# -------------
# The printed shares say how much of each map's positive attribution falls on the half that
# holds the class's evidence (0.5 would be no preference). Occlusion needs one forward pass
# per window position but no gradients, and its resolution is the window's; Grad-CAM needs one
# backward pass, and its resolution is the layer's: fine but noisy in the first block, coarse
# and object-level in the last. Grad-CAM at the first block mostly marks edges and texture
# wherever they are, which is why it is normally computed at the last convolutional layer.
#
# Attribution maps also show *which* evidence a network uses, and it need not be the object a
# person would name: this network was trained to say which photograph a patch comes from, so
# for a class such as "rocket" the background that fills most of that photograph is as good
# evidence as the rocket, and the maps show where this network found it.
