"""Datasets for every lesson: a real source when online, an offline source always.

See :mod:`tinyml_lib.datasets._core` for the conventions all loaders share.
Loaders are imported on first use, so ``import tinyml_lib.datasets`` stays cheap.
"""

from importlib import import_module as _import_module

from ._core import DatasetInfo, cache_dir

# public name -> submodule that defines it
_LOADERS = {
    "load_keywords": "keywords",
    "load_folder": "keywords",
    "load_gestures": "gestures",
    "load_machine_sound": "machines",
    "load_images": "images",
    "load_person": "images",
    "load_adult": "tabular",
    "plot_gesture": "gestures",
    "plot_images": "images",
    "spectrum": "machines",
    "plot_spectrum": "machines",
}

__all__ = ["DatasetInfo", "cache_dir", *_LOADERS]


def __getattr__(name):
    if name in _LOADERS:
        value = getattr(_import_module(f"{__name__}.{_LOADERS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tinyml_lib.datasets' has no attribute {name!r}")
