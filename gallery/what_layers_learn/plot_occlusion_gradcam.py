"""
Where does the network look?
============================

Which parts of an image does a decision depend on? Two standard answers, both computed here
with `Captum <https://captum.ai>`_ :cite:`kokhlikyan2020captum`, PyTorch's attribution library:

* :term:`occlusion` :cite:`zeiler2014visualizing`: cover a patch of the image with grey and see how
  much the score of the class drops; slide the patch everywhere;
* :term:`Grad-CAM` :cite:`selvaraju2017gradcam`: weight each channel of a layer's feature maps by
  the average gradient of the class score with respect to it, sum, keep the positive part.
  Computed at different depths, it shows at what resolution each layer "sees" the evidence.

:Predict first: Show a network an image that is half one photograph and half another: do
   occlusion and Grad-CAM point at the right half?
"""

# %%
# The network and the images
# --------------------------
# The photo-patch network of :ref:`sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py`
# (from the :term:`model cache`), which tells which of twelve photographs a 32x32 patch was cut
# from. Up to its global average :term:`pooling`, a convolutional network accepts any image size,
# so we show it larger crops of the photographs, at their original resolution (the scale it was
# trained on). Parts of these crops were seen in training.
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam, Occlusion
from scipy.stats import spearmanr

from layerwise import data, plot, runtime, stats, train, zoo

recipe = zoo.photo_cnn()
patches = recipe.data
model = recipe.fit(seed=0).model.cpu().eval()

side = runtime.pick(quick=64, default=128, full=192)


def crop(name, top, left):
    """A ``side`` x ``side`` crop of a bundled photograph, standardised like the patches."""
    return patches.normalize(data.photo_tensor(name)[:, top : top + side, left : left + side])


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
# :term:`Occlusion <occlusion>` slides a grey window (zero after standardisation, i.e. the mean
# colour) of a sixth of the image; :term:`Grad-CAM` is computed at the output of each block's ReLU
# and upsampled to the image with ``LayerAttribution.interpolate``.
window = side // 6
# The scores of the classes asked for, one column each: one occlusion pass serves them all.
occlusion = Occlusion(lambda inputs, targets: model(inputs).gather(1, targets))
layers = ["relu1", "relu2", "relu3"]
cams = {name: LayerGradCam(model, getattr(model, name)) for name in layers}


def attributions(x, targets):
    """The maps of image ``x`` for each class in ``targets``, one dict per class."""
    x = x[None]
    occ = occlusion.attribute(
        x,
        additional_forward_args=(torch.tensor([targets]),),
        sliding_window_shapes=(3, window, window),
        strides=(3, window // 2, window // 2),
        baselines=0.0,
        perturbations_per_eval=64,
    )  # one map per class
    return [_attributions(x, target, o.sum(0)) for target, o in zip(targets, occ, strict=True)]


def _attributions(x, target, occ):
    out = {"occlusion": occ}
    for name, cam in cams.items():
        a = cam.attribute(x, target=target, relu_attributions=True)
        out[f"Grad-CAM {name}\n({a.shape[-2]}x{a.shape[-1]})"] = LayerAttribution.interpolate(
            a, (side, side), interpolate_mode="bilinear"
        )[0, 0]
    return {k: v.detach() for k, v in out.items()}


def draw(fig, x, maps, title):
    """The image, then each map over it: colour where the map is high, the plain image where
    it is low (the map's positive part, scaled to its maximum, sets the overlay's opacity)."""
    axes = fig.subplots(1, 1 + len(maps))
    axes[0].imshow(plot.to_image(x, patches))
    axes[0].set_title(title, fontsize=9)
    for ax, (name, m) in zip(axes[1:], maps.items(), strict=True):
        weight = (m.clamp_min(0) / m.clamp_min(0).max().clamp_min(1e-12)).numpy()
        ax.imshow(plot.to_image(x, patches))
        ax.imshow(weight, cmap="jet", alpha=0.75 * weight, vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_axis_off()


# %%
# Two photographs: attributions for their own class.
fig = plt.figure(figsize=(11, 5.4), layout="constrained")
rows = fig.subfigures(2, 1)
for row, name in zip(rows, ["astronaut", "rocket"], strict=True):
    target = patches.classes.index(name)
    draw(row, images[name], attributions(images[name], [target])[0], f"{name}: class '{name}'")
fig.suptitle("Occlusion and Grad-CAM per layer (coloured where the class score depends on it)")
plt.show()

# %%
# A test with a known answer
# --------------------------
# In a composite of two photographs, the left half from one and the right half from the other,
# the evidence for each class lies in its own half. Attributions for each class should land
# there. One composite first, drawn:
fig = plt.figure(figsize=(11, 5.4), layout="constrained")
rows = fig.subfigures(2, 1)
both = attributions(composite, [patches.classes.index(n) for n in (left_name, right_name)])
for row, name, maps in zip(rows, [left_name, right_name], both, strict=True):
    draw(row, composite, maps, f"composite: class '{name}'")
fig.suptitle(f"Left half: {left_name}; right half: {right_name}")
plt.show()

# %%
# One composite and one network prove little. Many composites: pairs of held-out test patches
# (32x32, from test tiles never seen in training) of two different photographs, side by side,
# each pair in both orders so that a method that prefers one side of the image scores 0.5. For
# each composite and each of its two classes, the share of the map's positive attribution that
# falls on the class's own half, averaged over the two classes. And many networks: the same
# composites through the networks of five seeds (the first chapter trains them; they come from
# the model cache). One number per network, the mean over its composites; the interval is over
# the seeds, the independent repetitions of training.
h = patches.x_test.shape[-1]
n_pairs = runtime.pick(quick=4, default=24, full=60)
rng = torch.Generator().manual_seed(0)
composites = []  # (image, left class, right class)
for _ in range(n_pairs):
    a, b = torch.randperm(patches.num_classes, generator=rng)[:2].tolist()
    ia = torch.nonzero(patches.y_test == a).flatten()
    ib = torch.nonzero(patches.y_test == b).flatten()
    xa = patches.x_test[ia[torch.randint(len(ia), (1,), generator=rng)]][0]
    xb = patches.x_test[ib[torch.randint(len(ib), (1,), generator=rng)]][0]
    composites.append((torch.cat([xa, xb], dim=2), a, b))
    composites.append((torch.cat([xb, xa], dim=2), b, a))

xs = torch.stack([x for x, _, _ in composites])  # every composite, one batch
left_class = torch.tensor([a for _, a, _ in composites])
right_class = torch.tensor([b for _, _, b in composites])

seeds = runtime.seeds(5)
networks = {s: recipe.fit(seed=s, verbose=False).model.cpu().eval() for s in seeds}


def maps_small(net, x, targets):
    """Occlusion (an 8x8 window) and Grad-CAM at each block, for a batch of composites and
    several target classes each (``targets``: one column per class): one dict per column.

    The occluded images are run once for all the columns: the network's scores for every
    class come from the same forward pass, and each column's map is computed from its own
    scores exactly as for that target alone."""
    occ = Occlusion(lambda inputs, t: net(inputs).gather(1, t)).attribute(
        x,
        additional_forward_args=(targets,),
        sliding_window_shapes=(3, h // 4, h // 4),
        strides=(3, h // 8, h // 8),
        baselines=0.0,
        perturbations_per_eval=16,
    )  # one map per composite and column, composite by composite
    occ = occ.sum(1).unflatten(0, targets.shape)
    return [_maps_small(net, x, target, occ[:, j]) for j, target in enumerate(targets.T)]


def _maps_small(net, x, target, occ):
    out = {"occlusion": occ}
    for name in layers:
        a = LayerGradCam(net, getattr(net, name)).attribute(x, target=target)
        out[f"Grad-CAM {name}"] = LayerAttribution.interpolate(
            a, (h, 2 * h), interpolate_mode="bilinear"
        )[:, 0]
    return {k: v.detach() for k, v in out.items()}


def own_half(m, left):
    positive = m.clamp_min(0)
    half = positive[:, :h] if left else positive[:, h:]
    return (half.sum() / positive.sum().clamp_min(1e-12)).item()


methods = ["occlusion", *[f"Grad-CAM {name}" for name in layers]]


def shares(net):
    """Method -> the share on the class's own half, averaged over every composite."""
    # In the layout the network trained in (channels innermost on a CPU): the same maps to
    # rounding, computed about 30 % faster.
    layout = train.memory_format(net, next(net.parameters()).device)
    net = copy.deepcopy(net).to(memory_format=layout)
    x = xs.contiguous(memory_format=layout)
    for_left, for_right = maps_small(net, x, torch.stack([left_class, right_class], dim=1))
    out = {}
    for m in methods:
        pairs = zip(for_left[m], for_right[m], strict=True)
        out[m] = float(np.mean([(own_half(a, True) + own_half(b, False)) / 2 for a, b in pairs]))
    return out


per_seed = {s: shares(net) for s, net in networks.items()}
share = {m: stats.Runs([per_seed[s][m] for s in seeds], seeds) for m in methods}
for m in methods:
    print(f"{m:>16}: share of positive attribution on the class's own half {share[m]}")

fig, ax = plt.subplots(figsize=(6.4, 3.0), layout="constrained")
plot.bar(ax, methods, [share[m] for m in methods], color=["C3", "C0", "C1", "C2"], capsize=4)
for i, m in enumerate(methods):
    ax.plot([i] * len(seeds), share[m].values, "k.", ms=4, label="one seed" if i == 0 else None)
ax.axhline(0.5, color="k", ls=":", label="no preference")
ax.set_ylim(0, 1)
ax.set_ylabel("attribution on the\nclass's own half")
ax.legend(loc="lower right", fontsize=8)
ax.set_title(
    f"{len(seeds)} networks x {n_pairs} pairs of patches in both orders; 95 % intervals",
    fontsize=10,
)
plt.show()

# %%
# The three claims this figure supports, each decided by the site's rule:
stats.claim(
    "Occlusion puts most of a class's positive attribution on the half of a composite that holds "
    "it",
    share["occlusion"],
    above=0.5,
)
stats.claim(
    "Grad-CAM at the last block (relu3) puts most of a class's positive attribution on the half "
    "of a composite that holds it",
    share["Grad-CAM relu3"],
    above=0.5,
)
stats.claim(
    "Grad-CAM puts more of the attribution on the class's own half at the last block (relu3) "
    "than at the first (relu1), network by network",
    stats.paired(share["Grad-CAM relu3"], share["Grad-CAM relu1"]),
    above=0.0,
)

# %%
# Do the maps depend on what the network learned?
# -----------------------------------------------
# Adebayo et al. :cite:`adebayo2018sanity` proposed a sanity check that some attribution methods
# fail: replace the trained weights with random ones, layer by layer from the top, and see
# whether the map changes. A map that stays the same shows the image (edges, contrast), not
# what the network learned. For each of the five networks we re-initialise the layers cascading
# from the classifier down (with the initial weights of the next seed, so never the network's
# own starting point) and compare each composite's Grad-CAM map at the last block (for its left
# class) with the trained network's, by Spearman rank correlation ("none": the trained network
# itself, 1 by definition). One number per network: the mean over the composites.
cascade = [
    ("fc",),
    ("fc", "conv3", "bn3"),
    ("fc", "conv3", "bn3", "conv2", "bn2"),
    ("fc", "conv3", "bn3", "conv2", "bn2", "conv1", "bn1"),
]
stage_names = ["fc", "+ block 3", "+ block 2", "+ block 1"]


def randomised(net, prefixes, random_state):
    net = copy.deepcopy(net)
    state = net.state_dict()
    for key in state:
        if key.split(".")[0] in prefixes:
            state[key] = random_state[key].clone()
    net.load_state_dict(state)
    return net.eval()


def gradcam3(net):
    """The Grad-CAM map at the last block of every composite, for its left class (one row
    each)."""
    a = LayerGradCam(net, net.relu3).attribute(xs, target=left_class)
    return a.detach().flatten(1).numpy()


rho = {stage: [] for stage in stage_names}  # one value per seed
for s, net in networks.items():
    random_state = train.initial_state(recipe.config, seed=s + 1)
    original = gradcam3(net)
    for stage, prefixes in zip(stage_names, cascade, strict=True):
        random_maps = gradcam3(randomised(net, prefixes, random_state))
        r = [
            np.nan_to_num(spearmanr(o, m).statistic)
            for o, m in zip(original, random_maps, strict=True)
        ]
        rho[stage].append(float(np.mean(r)))
rank = {stage: stats.Runs(v, seeds) for stage, v in rho.items()}
for stage in stage_names:
    print(f"randomised {stage:>10}: rank correlation with the trained map {rank[stage]}")

fig, ax = plt.subplots(figsize=(6.4, 3.0), layout="constrained")
ax.plot(["none"], [1.0], "o", color="C0")
plot.errorbar(ax, stage_names, [rank[s] for s in stage_names], fmt="-o", capsize=4)
ax.axhline(0, color="grey", ls=":")
ax.set_ylim(-0.5, 1.08)
ax.set_xlabel("layers re-initialised, cascading from the top")
ax.set_ylabel("Spearman correlation\nwith the trained map")
ax.set_title(f"Grad-CAM (relu3) after randomising the weights ({len(seeds)} networks)")
plt.show()

# %%
# The claim, decided by the site's rule:
stats.claim(
    "Randomising only the classifier changes the Grad-CAM map: rank correlation with the trained "
    "network's map well below 1",
    rank["fc"],
    below=0.5,
)

# %%
# What it shows
# -------------
# Over many composites in both orders and five independently trained networks, occlusion and
# Grad-CAM at the last block put most of a class's positive attribution on the half that holds
# that class (the claims above give the shares), so both point at the evidence. Grad-CAM's share
# is larger at the last block than at the first, compared network by network (the paired claim
# above): in the first block it marks edges and texture on both halves more evenly, which is
# why it is normally computed at the last convolutional layer. Occlusion needs one forward pass
# per window position but no gradients, and its resolution is the window's; Grad-CAM needs one
# backward pass, and its resolution is the layer's.
#
# The weight-randomisation check passes over the five networks: replacing only the classifier
# with random weights already decorrelates the Grad-CAM map from the trained one, and randomising
# more layers keeps it there. The map depends on what the network learned, not only on the image.
#
# Attribution maps also show *which* evidence a network uses, and it need not be the object a
# person would name: this network was trained to say which photograph a patch comes from, so
# for a class such as "rocket" the background that fills most of that photograph is as good
# evidence as the rocket, and the maps show where this network found it.
