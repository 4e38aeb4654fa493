"""Figures with alt text.

Every figure a learner sees must carry a text alternative, so the course works
with a screen reader. Build a Matplotlib figure, then hand it to :func:`show`
with a sentence that says what the figure shows::

    >>> import matplotlib.pyplot as plt
    >>> from tinyml_lib import plots
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1, 2], [0, 1, 4])
    >>> plots.show(fig, alt="A curve rising from 0 to 4.")   # doctest: +SKIP

:func:`show` displays the figure as an ``<img>`` with that ``alt`` attribute
(JupyterLab, Colab and exported HTML all keep it), with the alt text as the
plain-text version, and closes the figure so it is not drawn twice.
"""

from __future__ import annotations

import base64
import html
import io

#: Metadata key under which :func:`show` records the alt text of an output.
ALT_KEY = "tinyml_alt"


def _matplotlib():
    import matplotlib

    # Outside a kernel with an inline backend, draw off-screen.
    try:
        from IPython import get_ipython

        in_kernel = get_ipython() is not None
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        in_kernel = False
    if not in_kernel:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def figure(*args, **kwargs):
    """``plt.subplots`` with the course's defaults (size, layout)."""
    plt = _matplotlib()
    kwargs.setdefault("figsize", (6, 3.5))
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(*args, **kwargs)


def to_png(fig, dpi: int = 100) -> bytes:
    """The figure rendered as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def image_html(png: bytes, alt: str) -> str:
    """An ``<img>`` tag embedding ``png`` with the given ``alt`` text."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(alt, quote=True)}" style="max-width:100%"/>')


def show(fig, alt: str, dpi: int = 100) -> None:
    """Display ``fig`` with alt text, then close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to show.
    alt : str
        One or two sentences saying what the figure shows (not "a plot").
    dpi : int
        Resolution of the embedded image.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("show(fig, alt=...) needs alt text: one sentence "
                         "describing what the figure shows.")
    plt = _matplotlib()
    png = to_png(fig, dpi=dpi)
    plt.close(fig)
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover
        return
    display({"text/html": image_html(png, alt), "text/plain": f"[figure] {alt}"},
            raw=True, metadata={ALT_KEY: alt})
