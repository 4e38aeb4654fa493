"""Keep TensorFlow's C++ start-up lines out of a learner's notebook.

TensorFlow 2.21 writes lines such as "All log messages before
absl::InitializeLog() is called are written to STDERR", "oneDNN custom
operations are on" and "Could not find cuda drivers" straight to file
descriptor 2 while it loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; Jupyter
shows them in red under the first cell that imports Keras. They are noise on a
CPU runtime, so while ``tensorflow`` is *being imported* (and only then)
descriptor 2 goes to a temporary file. If the import fails, everything it
wrote is replayed to stderr before the error propagates, so nothing a learner
needs is lost. Set ``TINYML_TF_LOGS=1`` to see the lines.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import sys
import tempfile

_NAME = "tensorflow"


@contextlib.contextmanager
def quiet_stderr():
    """Send file descriptor 2 to a temporary file; replay it if the block raises."""
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:              # no descriptor 2 (some embedded interpreters): nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            text = sink.read().decode(errors="replace")
            if text:
                sys.stderr.write(text)
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with quiet_stderr():
            self._loader.exec_module(module)

    def __getattr__(self, name):          # anything else (get_code, is_package...) as before
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of the top-level ``tensorflow`` package, once."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _NAME:
            return None
        uninstall()
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_finder = _QuietFinder()


def install() -> None:
    """Quiet the next ``import tensorflow`` (a no-op if it is loaded or logs are wanted)."""
    if _NAME in sys.modules or os.environ.get("TINYML_TF_LOGS", "") not in ("", "0"):
        return
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(_finder)
