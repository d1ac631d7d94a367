"""
First layer and receptive fields of an ImageNet network
=======================================================

The first chapter watched a small network's first-layer :term:`filters <filter>` turn from noise
into edge and colour detectors. Does a network trained on ImageNet hold the same kind of filters,
and how much of a photograph does each of its stages see? Here are EfficientNet-Lite0's 32 stem
filters, a measure of how oriented they are against a matched random control, and the
:term:`receptive field` of every stage, computed from the architecture and drawn on a photograph.

:Predict first: Are the first-layer filters of a real ImageNet network more oriented than random
   filters with the same smoothness?
"""

# %%
# The network and a first prediction
# ----------------------------------
# :func:`layerwise.imagenet.pretrained` builds EfficientNet-Lite0 and loads its ImageNet
# weights from the installed package, after checking the file's checksum.
# :func:`~layerwise.imagenet.preprocess` resizes a photograph's short side to 256 pixels, cuts
# out the central 224x224 and scales the pixels as ``(x - 127) / 128``, the scaling these
# weights were trained with.
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from layerwise import data, filters, imagenet, plot, receptive, stats

# sphinx_gallery_thumbnail_number = 3
model = imagenet.pretrained()
classes = imagenet.categories()
photo = imagenet.preprocess(data.photo("chelsea"))
with torch.no_grad():
    probs = model(photo[None]).softmax(1)[0]
top = probs.topk(3)
for p, i in zip(top.values, top.indices, strict=True):
    print(f"{classes[i]:>14s}: {p:.3f}")

# %%
# The 32 stem filters
# -------------------
# The stem is a 3x3 convolution with :term:`stride` 2 over the three colour
# :term:`channels <channel>`. Batch normalisation follows it and rescales each filter, so we draw
# the *effective* filter: the weights times the normalisation's scale ``gamma / sqrt(var + eps)``.
# A filter whose weights are less than a ten-thousandth of the largest filter's (in Euclidean norm)
# is counted as dead: it passes on a constant, whatever the image.
weights = model.stem.conv.weight.detach()
bn = model.stem.bn
scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach()
effective = weights * scale.view(-1, 1, 1, 1)
norms = weights.flatten(1).norm(dim=1)
dead = norms < 1e-4 * norms.max()
live = ~dead
print(f"{int(dead.sum())} of {len(weights)} stem filters are dead; their norms: {norms[dead]}")
print(f"the smallest live norm is {norms[~dead].min():.3f}, the largest {norms.max():.3f}")

osi = filters.orientation_selectivity(weights)
order = torch.argsort(torch.where(dead, -1.0, osi), descending=True)
shown = torch.where(dead.view(-1, 1, 1, 1), 0.0, effective)  # dead filters drawn flat grey
fig = plot.filter_grid(
    shown[order],
    ncols=8,
    size=1.0,
    titles=["dead" if dead[i] else f"OSI {osi[i]:.2f}" for i in order],
)
fig.suptitle(
    f"EfficientNet-Lite0's 32 stem filters (3x3x3), most oriented first; "
    f"{int(dead.sum())} are dead"
)
plt.show()

# %%
# Are they more oriented than chance?
# -----------------------------------
# The :term:`orientation selectivity index` (:func:`layerwise.filters.orientation_selectivity`, 0
# for no preferred orientation, 1 for a pure grating) needs a baseline: even random 3x3 filters
# have some orientation by chance. Two baselines, 4000 random filters each:
#
# * **white noise**, independent Gaussian weights: what the stem holds before training;
# * **matched noise**, Gaussian filters whose pixel-and-colour covariance is that of the live
#   trained filters, averaged over the eight rotations and reflections of the 3x3 grid: as
#   smooth and as coloured as the trained filters, with no orientation built in.
#
# The claims compare the mean index of the live filters with each baseline's, with a bootstrap
# interval over both sets of filters. "The same" means a difference within 0.1 either way.
live_flat = weights[live].flatten(1).double()  # (n_live, 27): channel, row, column
second_moment = live_flat.T @ live_flat / len(live_flat)
grid = np.arange(9).reshape(3, 3)
symmetries = [np.rot90(g, k) for g in (grid, grid.T) for k in range(4)]
perms = [
    torch.as_tensor(np.concatenate([c * 9 + s.ravel() for c in range(3)])) for s in symmetries
]
isotropic = sum(second_moment[p][:, p] for p in perms) / len(perms)
draws = 4000
generator = torch.Generator().manual_seed(0)
white = torch.randn(draws, 3, 3, 3, generator=generator)
root = torch.linalg.cholesky(isotropic + 1e-9 * torch.eye(27, dtype=torch.float64))
noise = torch.randn(draws, 27, generator=generator, dtype=torch.float64)
matched = (noise @ root.T).float().view(draws, 3, 3, 3)
osi_white = filters.orientation_selectivity(white).numpy()
osi_matched = filters.orientation_selectivity(matched).numpy()
osi_live = osi[live].numpy()

fig, ax = plt.subplots(figsize=(6.8, 3.6), layout="constrained")
bins = np.linspace(0, 1, 21)
for values, label, style in (
    (osi_white, "white-noise filters", dict(histtype="step", lw=2, color="0.4")),
    (osi_matched, "matched-noise filters", dict(histtype="step", lw=2, color="C1")),
    (osi_live, f"trained stem filters ({int(live.sum())} live)", dict(alpha=0.5, color="C0")),
):
    ax.hist(values, bins=bins, density=True, label=f"{label}: mean {values.mean():.2f}", **style)
ax.set_xlabel("orientation selectivity index")
ax.set_ylabel("density")
ax.set_title("Trained stem filters against two random baselines")
ax.legend(frameon=False)
plt.show()


# %%
# The two claims, decided by the site's rule:
def mean_difference(a, b):
    return a.mean() - b.mean()


stats.claim(
    "The live stem filters are more orientation-selective than white-noise filters "
    "(difference of mean index)",
    stats.bootstrap(mean_difference, osi_live, osi_white),
    above=0,
)
stats.claim(
    "They are as orientation-selective as random filters with their smoothness and colour "
    "statistics (difference of mean index within 0.1)",
    stats.bootstrap(mean_difference, osi_live, osi_matched),
    above=-0.1,
    below=0.1,
)

# %%
# What each stage sees
# --------------------
# :func:`layerwise.receptive.receptive_field` works out, from the architecture alone, the
# window of input pixels each stage's units see. It reads TensorFlow's asymmetric "SAME"
# padding from the explicit padding layers; :func:`~layerwise.receptive.gradient_receptive_field`
# measures the same windows independently, from where an input gradient is non-zero, on a
# 960x960 input large enough to hold the last stage's field.
fields = receptive.receptive_field(model, 224)
large = receptive.receptive_field(model, 960)
agree = 0
for stage in imagenet.STAGES:
    measured = receptive.gradient_receptive_field(model, stage, 960)
    agree += measured == large[stage]
    f = fields[stage]
    print(
        f"{stage:>7s}: {f.size[0]:4d} px window, {f.stride[0]:2d} px stride, "
        f"{f.shape[0]:3d}x{f.shape[1]} map; gradient method: {measured.size[0]} px"
    )
stats.claim(
    f"The gradient method measures the same window, stride and offset as the calculation "
    f"for all {len(imagenet.STAGES)} stages (number that agree)",
    stats.exact(agree),
    above=len(imagenet.STAGES) - 0.5,
)
first_whole = next(s for s in imagenet.STAGES if fields[s].size[0] >= 224)
stats.claim(
    f"From {first_whole} on, a single unit's window ({fields[first_whole].size[0]} px) is wider "
    "than the whole 224-pixel input",
    stats.exact(fields[first_whole].size[0]),
    above=224,
)

# %%
# The windows of one unit near the centre of each stage's map, on the photograph the network
# classified above. Parts of a window that fall outside the image lie in the zero padding
# (drawn white); the windows of stages 6 and 7 are wider than this figure.
fig, ax = plt.subplots(figsize=(7.6, 5.6), layout="constrained")
ax.imshow(imagenet.to_image(photo))
colours = plt.cm.viridis(np.linspace(0, 0.95, len(imagenet.STAGES) - 1))
for stage, colour in zip(imagenet.STAGES[:-1], colours, strict=True):
    f = fields[stage]
    top_, left, bottom, right = f.box(f.shape[0] // 2, f.shape[1] // 2)
    ax.add_patch(
        Rectangle(
            (left - 0.5, top_ - 0.5),
            right - left,
            bottom - top_,
            fill=False,
            lw=2,
            color=colour,
            label=f"{stage}: {f.size[0]} px",
        )
    )
f5 = fields["stage5"]
top5, left5, bottom5, right5 = f5.box(f5.shape[0] // 2, f5.shape[1] // 2)
ax.set_xlim(left5 - 12, right5 + 12)
ax.set_ylim(bottom5 + 12, top5 - 12)
ax.set_xticks([0, 112, 223])
ax.set_yticks([0, 112, 223])
ax.set_xlabel("input pixel")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="window of one unit")
ax.set_title(f"Receptive field of one unit per stage (top-1: {classes[top.indices[0]]})")
plt.show()

# %%
# What it shows
# -------------
# EfficientNet-Lite0's first layer is a small bank of 3x3 colour and edge filters, and 4 of its
# 32 filters are dead, with weights at least six orders of magnitude below the others (printed
# above): training left an eighth of the first layer unused. The live filters are more
# orientation-selective than white noise, what a stem holds before training, but no more than
# random filters with their own smoothness and colour statistics (the two claims above, with
# their intervals). At 3x3 pixels, being smooth and coloured is almost all there is to being
# "oriented"; the long Gabor stripes of AlexNet's 11x11 filters need more room than this stem
# has. The windows grow fast: every stride-2 stage doubles the step between units, and the 5x5
# depthwise convolutions of stages 3, 5 and 6 widen them further, so that from stage 5 on one
# unit could see more than the whole image. What those units actually use is narrower (the
# :term:`effective receptive field` of the receptive-field chapter); the next pages ask what they
# respond to.
