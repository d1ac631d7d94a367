"""Write small offline intersphinx inventories for the objects the site links to.

The build reads inventories from this folder so that it never needs a network. Where there is
one, ``nox -s intersphinx`` replaces these files with the projects' complete inventories. Without
one, this script writes inventories holding just the entries below (each one the object's real
address in its project's documentation): ``python docs/_intersphinx/seed.py``.
"""

import zlib
from pathlib import Path

HERE = Path(__file__).parent

# project -> (display name, version, [(name, role, path relative to the project's docs)])
# A path ending in "#$" is completed with the object's name, as in Sphinx's own inventories.
ENTRIES = {
    "python": (
        "Python",
        "3",
        [
            ("int", "py:class", "library/functions.html#int"),
            ("float", "py:class", "library/functions.html#float"),
            ("str", "py:class", "library/stdtypes.html#str"),
            ("bool", "py:class", "library/functions.html#bool"),
            ("dict", "py:class", "library/stdtypes.html#dict"),
            ("list", "py:class", "library/stdtypes.html#list"),
            ("tuple", "py:class", "library/stdtypes.html#tuple"),
            ("type", "py:class", "library/functions.html#type"),
            ("None", "py:data", "library/constants.html#None"),
            ("ValueError", "py:exception", "library/exceptions.html#ValueError"),
            ("FileNotFoundError", "py:exception", "library/exceptions.html#FileNotFoundError"),
            ("os.PathLike", "py:class", "library/os.html#os.PathLike"),
            ("pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path"),
            ("collections.abc.Sequence", "py:class", "library/collections.abc.html#$"),
            ("collections.OrderedDict", "py:class", "library/collections.html#$"),
            ("collections.abc.Callable", "py:class", "library/collections.abc.html#$"),
        ],
    ),
    "torch": (
        "PyTorch",
        "stable",
        [
            ("torch.Tensor", "py:class", "tensors.html#torch.Tensor"),
            ("torch.dtype", "py:class", "tensor_attributes.html#torch.dtype"),
            ("torch.fx", "py:module", "fx.html#module-torch.fx"),
            ("torch.device", "py:class", "tensor_attributes.html#torch.device"),
            ("torch.Generator", "py:class", "generated/torch.Generator.html#$"),
            ("torch.nn.Module", "py:class", "generated/torch.nn.Module.html#$"),
            ("torch.nn.Sequential", "py:class", "generated/torch.nn.Sequential.html#$"),
            ("torch.nn.Conv2d", "py:class", "generated/torch.nn.Conv2d.html#$"),
            ("torch.nn.Conv1d", "py:class", "generated/torch.nn.Conv1d.html#$"),
            ("torch.nn.Linear", "py:class", "generated/torch.nn.Linear.html#$"),
        ],
    ),
    "torchvision": (
        "Torchvision",
        "stable",
        [
            (
                "torchvision.models.feature_extraction.create_feature_extractor",
                "py:function",
                "feature_extraction.html#$",
            ),
        ],
    ),
    "numpy": (
        "NumPy",
        "stable",
        [("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#$")],
    ),
    "matplotlib": (
        "Matplotlib",
        "stable",
        [
            (
                "matplotlib.figure.Figure",
                "py:class",
                "api/_as_gen/matplotlib.figure.Figure.html#$",
            ),
            *(
                (
                    f"matplotlib.axes.Axes.{m}",
                    "py:method",
                    f"api/_as_gen/matplotlib.axes.Axes.{m}.html#$",
                )
                for m in ("bar", "errorbar", "plot")
            ),
        ],
    ),
}


def write(project: str) -> Path:
    name, version, entries = ENTRIES[project]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {name}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(f"{obj} {role} 1 {path} -\n" for obj, role, path in entries)
    path = HERE / f"{project}.inv"
    path.write_bytes(header.encode() + zlib.compress(body.encode()))
    return path


if __name__ == "__main__":
    for project in ENTRIES:
        print(write(project))
