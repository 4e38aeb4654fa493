"""tinyml_lib: the library every TinyML Courseware notebook imports.

Importing the package is cheap: submodules (and the heavy libraries they use,
such as NumPy, Matplotlib or TensorFlow) load on first use::

    >>> import tinyml_lib
    >>> tinyml_lib.config.fast_mode()        # doctest: +SKIP
    False

The student side never imports the instructor tooling in ``grading``.
"""

import os as _os
from importlib import import_module as _import_module

# TensorFlow's C++ start-up chatter (oneDNN, missing CUDA drivers) is noise for a
# learner on a CPU runtime; Python errors are unaffected. Set the variable
# yourself before importing tinyml_lib to see everything.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The lines TF_CPP_MIN_LOG_LEVEL no longer hides (absl, oneDNN, CUDA) are written
# while TensorFlow loads; _quiet hides exactly those (TINYML_TF_LOGS=1 shows them).
from . import _quiet

_quiet.install()

__version__ = "0.1.0"

_SUBMODULES = ("config", "linear", "plots", "vision", "audio", "kws", "quantize", "mcu", "datasets",
               "fairness", "attacks", "evaluate", "thresholds", "anomaly", "dataprep", "transfer")

__all__ = list(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = _import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tinyml_lib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
