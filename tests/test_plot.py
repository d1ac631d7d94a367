import matplotlib.pyplot as plt
import pytest
import torch

from layerwise import plot


def test_filter_images_keep_zero_grey_and_sign():
    w = torch.zeros(2, 3, 3, 3)
    w[0, :, 0, 0] = 2.0
    w[0, :, 2, 2] = -1.0
    w[1, 0] = 1.0  # filter 1: only the red channel
    img = plot.filter_images(w)
    assert img.shape == (2, 3, 3, 3)
    assert img[0, 1, 1].tolist() == [0.5, 0.5, 0.5]
    assert img[0, 0, 0].tolist() == [1.0, 1.0, 1.0]
    assert img[0, 2, 2].tolist() == [0.25, 0.25, 0.25]
    assert img[1, 0, 0].tolist() == [1.0, 0.5, 0.5]


def test_grids_have_one_axis_per_image():
    fig = plot.filter_grid(torch.randn(10, 3, 5, 5), ncols=4)
    assert len([ax for ax in fig.axes if ax.images]) == 10
    fig = plot.feature_map_grid(torch.rand(16, 8, 8), n=8, ncols=8, title="t")
    assert len([ax for ax in fig.axes if ax.images]) == 8


def test_rms_contrast_clips_peaks_and_treats_every_filter_alike():
    w = torch.zeros(2, 1, 5, 5)
    w[0, 0, 2, 2] = 10.0  # one peak: clipped to white
    w[1] = 0.01 * torch.randn(1, 5, 5)
    img = plot.filter_images(w, contrast="rms")
    assert img[0, 2, 2] == 1.0 and img[0, 0, 0] == 0.5
    assert 0.1 < img[1].std() < 0.3  # faint noise gets the same contrast as a strong filter
    import pytest

    with pytest.raises(ValueError, match="contrast"):
        plot.filter_images(w, contrast="loud")


def test_runs_draws_seed_dots_and_the_interval():
    import matplotlib.pyplot as plt
    import pytest

    from layerwise.stats import Runs

    fig, ax = plt.subplots()
    measured = [Runs([0.1, 0.2, 0.3]), Runs([0.5, 0.6, 0.7])]
    bars = plot.runs(ax, [0, 1], measured, label="m")
    line, caps, (vertical,) = bars.lines
    assert line.get_ydata().tolist() == pytest.approx([0.2, 0.6])
    # the error bars span each mean's 95 % interval
    segments = vertical.get_segments()
    for segment, m in zip(segments, measured, strict=True):
        interval = m.interval()
        assert sorted(segment[:, 1].tolist()) == pytest.approx([interval.low, interval.high])
    # one dot per seed
    dots = [ln for ln in ax.lines if ln.get_linestyle() == "None" and len(ln.get_xdata()) == 3]
    assert len(dots) == 2
    with pytest.raises(ValueError, match="positions"):
        plot.runs(ax, [0], measured)
    plt.close(fig)


def test_to_image_puts_channels_last_and_undoes_the_standardisation():
    from layerwise import data

    y = torch.zeros(4, dtype=torch.long)
    mean, std = torch.tensor([0.2, 0.5, 0.7]), torch.tensor([0.1, 0.2, 0.3])
    ds = data.Dataset("t", torch.rand(4, 3, 5, 6), y, torch.rand(4, 3, 5, 6), y, ("a",), mean, std)
    x = torch.rand(3, 5, 6, generator=torch.Generator().manual_seed(0))
    # Standardising and back costs a few float32 roundings (about 1e-7 on values near 0).
    torch.testing.assert_close(
        torch.from_numpy(plot.to_image(ds.normalize(x), ds)), x.movedim(0, -1), atol=1e-6, rtol=0
    )
    img = plot.to_image(x)
    assert img.shape == (5, 6, 3)
    assert torch.allclose(torch.from_numpy(img[1, 2]), x[:, 1, 2])
    assert plot.to_image(torch.rand(2, 3, 5, 6)).shape == (2, 5, 6, 3)
    assert plot.to_image(torch.rand(1, 5, 6)).shape == (5, 6)
    assert plot.to_image(torch.full((3, 2, 2), 7.0)).max() == 1.0


def test_architecture_draws_one_labelled_box_per_output_shrinking_with_the_map():
    shapes = [(3, 256, 384), (32, 64, 96), (64, 16, 24), (128, 4, 6), (12, 1, 1)]
    names = ["input", "pool1", "pool2", "pool3", "fc"]
    ax = plot.architecture(shapes, names)
    faces = ax.patches
    assert len(faces) == 3 * len(shapes)  # front, top and side of every box
    fronts = [faces[3 * i].get_xy() for i in range(len(shapes))]
    heights = [f[:, 1].max() - f[:, 1].min() for f in fronts]
    thickness = [f[:, 0].max() - f[:, 0].min() for f in fronts]
    assert heights == sorted(heights, reverse=True)  # smaller maps, shorter boxes
    assert thickness[3] > thickness[2] > thickness[1] > thickness[0]  # more channels, thicker
    labels = [t.get_text() for t in ax.texts]
    assert labels[1] == "pool1\n32×64×96" and labels[-1] == "fc\n12×1×1"
    plt.close(ax.figure)


def test_architecture_needs_a_name_per_shape():
    with pytest.raises(ValueError, match="2 shapes but 1 names"):
        plot.architecture([(3, 8, 8), (4, 4, 4)], ["input"])


def test_image_rows_draws_one_titled_row_per_group_and_leaves_spare_cells_empty():
    rows = [[torch.rand(5, 5, 3).numpy()] * 3, [torch.rand(5, 5).numpy()] * 2]
    titles = [["a", "b", "c"], ["d", "e"]]
    fig = plot.image_rows(rows, titles=titles, row_titles=["first", "second"], figsize=(4, 3))
    assert [sub._suptitle.get_text() for sub in fig.subfigs] == ["first", "second"]
    drawn = [[ax.get_title() for ax in sub.axes if ax.images] for sub in fig.subfigs]
    assert drawn == titles
    assert [len(sub.axes) for sub in fig.subfigs] == [3, 3]  # the short row keeps the columns
    assert not any(ax.axison for sub in fig.subfigs for ax in sub.axes)
    plt.close(fig)
    with pytest.raises(ValueError, match="one title per image"):
        plot.image_rows(rows, titles=[["a"], ["d", "e"]])
    with pytest.raises(ValueError, match="row titles"):
        plot.image_rows(rows, row_titles=["only one"])


def test_image_rows_colours_one_channel_maps_with_the_given_cmap():
    fig = plot.image_rows([[torch.rand(5, 5).numpy(), torch.rand(5, 5, 3).numpy()]], cmap="magma")
    grey, colour = [ax.images[0] for ax in fig.axes if ax.images]
    assert grey.get_cmap().name == "magma"
    assert colour.get_array().shape == (5, 5, 3)  # drawn as colour, not through the map
    plt.close(fig)


def test_image_rows_draws_a_strip_of_titled_examples_under_each_image():
    big, small = torch.rand(8, 8, 3).numpy(), torch.rand(4, 4, 3).numpy()
    rows = [[big, big], [big]]
    examples = [[[small] * 3, [small] * 2], [[small] * 3]]
    example_titles = [[["1", "2", "3"], ["4", "5"]], [["6", "7", "8"]]]
    fig = plot.image_rows(
        rows, titles=[["a", "b"], ["c"]], examples=examples, example_titles=example_titles
    )
    for sub, titles, strips in zip(fig.subfigs, [["a", "b"], ["c"]], example_titles, strict=True):
        drawn = [ax for ax in sub.axes if ax.images]
        width = [len(ax.get_subplotspec().colspan) for ax in drawn]
        # A big image spans the three columns of the longest strip; an example takes one.
        assert [ax.get_title() for ax, w in zip(drawn, width, strict=True) if w == 3] == titles
        assert [ax.get_title() for ax, w in zip(drawn, width, strict=True) if w == 1] == [
            t for strip in strips for t in strip
        ]
        assert set(width) == {1, 3}
    assert not any(ax.axison for ax in fig.axes)
    plt.close(fig)
    with pytest.raises(ValueError, match="one list of images per image"):
        plot.image_rows(rows, examples=[[[small]], [[small]]])
    with pytest.raises(ValueError, match="one title per example image"):
        plot.image_rows(rows, examples=examples, example_titles=[[["1"], ["4"]], [["6"]]])


def test_image_animation_shows_each_frame_with_its_heading_and_box():
    frames = [[torch.full((6, 6), v).numpy(), torch.full((6, 6), -v).numpy()] for v in (0, 1, 2)]
    boxes = [[(k, k, k + 2, k + 3)] * 2 for k in range(3)]
    anim = plot.image_animation(frames, ["zero", "one", "two"], boxes=boxes, ncols=2)
    fig = anim._fig
    images = [ax.images[0] for ax in fig.axes]
    assert fig._suptitle.get_text() == "zero" and images[0].get_array().max() == 0
    anim._func(2)  # what the player shows at frame 2
    assert fig._suptitle.get_text() == "two"
    assert images[0].get_array().max() == 2 and images[1].get_array().min() == -2
    outline = fig.axes[0].patches[0]
    # Pixel (row, column) covers [column - 0.5, column + 0.5] along x: the box's edges.
    assert (outline.get_x(), outline.get_y()) == (1.5, 1.5)
    assert (outline.get_width(), outline.get_height()) == (3, 2)
    html = anim.to_jshtml()  # the player Sphinx-Gallery embeds: every frame inside the page
    assert html.count("data:image/png;base64") == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="headings"):
        plot.image_animation(frames, ["zero"])
    with pytest.raises(ValueError, match="same number of images"):
        plot.image_animation([frames[0], frames[1][:1]], ["a", "b"])


def test_field_map_outlines_the_theoretical_field_around_its_centre():
    fig, ax = plt.subplots()
    image = plot.field_map(ax, torch.rand(9, 9).numpy(), (4, 5), 3, cmap="magma", vmax=2)
    assert image.get_clim()[1] == 2 and image.get_cmap().name == "magma"
    square = ax.patches[0]
    # A 3-pixel field centred on row 4, column 5 covers pixels 3-5 down and 4-6 across.
    assert (square.get_x(), square.get_y(), square.get_width()) == (3.5, 2.5, 3)
    assert square.get_linestyle() == "--" and not ax.axison
    plt.close(fig)


def test_paired_runs_joins_each_seed_and_labels_both_sides():
    from layerwise import stats

    before, after = stats.Runs([1.0, 2.0, 3.0]), stats.Runs([2.0, 2.5, 5.0])
    fig, ax = plt.subplots()
    plot.paired_runs(ax, before, after, labels=("init", "trained"))
    seed_lines = [line for line in ax.lines if list(line.get_xdata()) == [0, 1]]
    assert [list(line.get_ydata()) for line in seed_lines] == [[1, 2], [2, 2.5], [3, 5]]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["init", "trained"]
    plt.close(fig)
    with pytest.raises(ValueError, match="same seeds"):
        plot.paired_runs(ax, before, stats.Runs([1.0, 2.0]))


def test_group_dots_draws_every_value_and_each_groups_interval():
    fig, ax = plt.subplots()
    groups = {"stem": [1.0, 2.0, 3.0], "stage6, untrained": [0.0, 0.5]}
    plot.group_dots(ax, groups, controls=["stage6, untrained"])
    from matplotlib.collections import PathCollection

    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(d.get_offsets()) for d in dots] == [3, 2]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["stem", "stage6\nuntrained"]
    assert len(ax.containers) == 2  # one mean with its interval per group
    plt.close(fig)


def test_signed_image_is_symmetric_about_zero_at_the_maps_largest_magnitude():
    fig, ax = plt.subplots()
    image = plot.signed_image(ax, torch.tensor([[0.5, -2.0], [1.0, 0.0]]))
    assert image.get_clim() == (-2.0, 2.0)
    assert image.get_cmap().name == "RdBu_r" and not ax.axison
    plt.close(fig)


def test_interval_errors_reach_from_each_estimate_to_its_interval_ends():
    from layerwise import stats

    runs = stats.Runs([0.1, 0.2, 0.6])
    wilson = stats.proportion(5, 5)  # a share of 1: its interval ends at the estimate
    est, err = plot.interval_errors([runs, wilson, [2.0], [1.0, 3.0]])
    iv = runs.interval()
    assert est.tolist() == pytest.approx([0.3, 1.0, 2.0, 2.0])
    assert err[:, 0].tolist() == pytest.approx([0.3 - iv.low, iv.high - 0.3])
    assert err[1, 1] == 0 and err[0, 1] == pytest.approx(1 - wilson.low)
    assert err[:, 2].tolist() == [0, 0]  # one run: no interval, no bar
    assert err[0, 3] == err[1, 3] > 1  # plain numbers are taken as runs (t interval)
    assert (err >= 0).all()


def test_errorbar_bar_and_band_draw_the_estimates_and_intervals():
    from layerwise import stats

    measured = [stats.Runs([1.0, 2.0, 3.0]), stats.Runs([4.0, 4.5, 5.0])]
    low, high = zip(*[(m.interval().low, m.interval().high) for m in measured], strict=True)
    fig, ax = plt.subplots()
    drawn = plot.errorbar(ax, [0, 1], measured, fmt="o", label="e")
    line, _, (vertical,) = drawn.lines
    assert line.get_ydata().tolist() == [2.0, 4.5]
    ends = [sorted(s[:, 1].tolist()) for s in vertical.get_segments()]
    assert sum(ends, []) == pytest.approx([low[0], high[0], low[1], high[1]])
    bars = plot.bar(ax, [0, 1], measured, 0.4, color="grey")
    assert [b.get_height() for b in bars] == [2.0, 4.5]
    assert [b.get_width() for b in bars] == [0.4, 0.4]
    assert bars.errorbar is not None
    line = plot.band(ax, [0, 1], measured, "s--", color="C2")
    assert line.get_ydata().tolist() == [2.0, 4.5] and line.get_linestyle() == "--"
    ys = ax.collections[-1].get_paths()[0].vertices[:, 1]  # the band, drawn last
    assert ys.min() == pytest.approx(low[0]) and ys.max() == pytest.approx(high[1])
    plt.close(fig)


def test_transfer_networks_draws_each_variant_with_its_copied_blocks():
    from matplotlib.colors import to_rgba

    ax = plot.transfer_networks(depth=4, cut=2)
    boxes = ax.patches
    assert len(boxes) == 4 * 5  # four variants, four blocks and a classifier each
    rows = [boxes[i * 5 : (i + 1) * 5] for i in range(4)]  # BnB, BnB+, AnB, AnB+
    for row, colour, tuned in zip(rows, ["C0", "C0", "C3", "C3"], [0, 1, 0, 1], strict=True):
        copied, new = row[:2], row[2:]
        want = to_rgba(colour, 0.35 if tuned else 1.0)
        assert all(b.get_facecolor() == pytest.approx(want) for b in copied)
        assert all(bool(b.get_hatch()) != bool(tuned) for b in copied)  # frozen: hatched
        assert all(b.get_facecolor() == (1, 1, 1, 1) and not b.get_hatch() for b in new)
    assert [t.get_text() for t in ax.texts[:4]] == ["BnB", "BnB+", "AnB", "AnB+"]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="cut must be in 1..4"):
        plot.transfer_networks(depth=4, cut=5)
