"""Machinery for the convolution lessons: a real photo, classic filters, image grids.

The lessons write the convolution and the pooling themselves; this module gives
them a picture to work on and ways to look at the results.

Examples
--------
>>> from tinyml_lib import vision
>>> photo = vision.sample_photo(size=64)
>>> photo.shape, photo.dtype
((64, 96), dtype('float32'))
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from . import plots

#: Classic 3x3 filters, each with what it responds to.
FILTERS: dict[str, np.ndarray] = {
    "vertical edges (Sobel x)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "horizontal edges (Sobel y)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "blur (box)": np.full((3, 3), 1 / 9, dtype=np.float32),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "outline (Laplacian)": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32),
}

PHOTO_CREDIT = ("'china.jpg' from scikit-learn's sample images (a photo of a temple "
                "in China, distributed with scikit-learn; no download needed)")


def sample_photo(size: int = 96) -> np.ndarray:
    """A real grayscale photo, ``size`` pixels high, values in [0, 1] (float32).

    The photo ships with scikit-learn, so it works offline. Its width keeps the
    original aspect ratio (640 x 427 -> about 1.5 x ``size``).
    """
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 427:
        raise ValueError(f"size must be an integer from 8 to 427 pixels; got {size!r}.")
    rgb = _read_photo().astype(np.float32) / 255.0
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma
    return resize(gray, size, int(round(size * gray.shape[1] / gray.shape[0])))


def _read_photo() -> np.ndarray:
    """The RGB pixels of scikit-learn's 'china.jpg', read without importing scikit-learn."""
    import importlib.util
    from pathlib import Path

    from PIL import Image

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the sample photo ships with scikit-learn: "
                                  "pip install scikit-learn")
    path = Path(spec.origin).parent / "datasets" / "images" / "china.jpg"
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average (box) resampling of a 2-D image to ``height`` x ``width``."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"resize expects a 2-D grayscale image; got shape {image.shape}.")
    rows = np.linspace(0, image.shape[0], height + 1).astype(int)
    cols = np.linspace(0, image.shape[1], width + 1).astype(int)
    out = np.empty((height, width), dtype=np.float32)
    for i in range(height):
        band = image[rows[i]:max(rows[i + 1], rows[i] + 1)]
        for j in range(width):
            out[i, j] = band[:, cols[j]:max(cols[j + 1], cols[j] + 1)].mean()
    return out


def plot_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None,
                cols: int = 3, size: float = 2.8, cmap: str = "gray", axes=None):
    """Show images side by side; returns the array of Axes.

    Each image is scaled to its own range so that negative filter responses
    (e.g. edges of either direction) stay visible.
    """
    images = list(images)
    if not images:
        raise ValueError("plot_images needs at least one image.")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles.")
    if axes is None:
        rows = -(-len(images) // cols)
        fig, axes = plots.figure(rows, min(cols, len(images)),
                                 figsize=(size * min(cols, len(images)), size * rows * 0.8),
                                 squeeze=False)
    flat = np.ravel(axes)
    for k, ax in enumerate(flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(np.squeeze(images[k]), cmap=cmap)
            if titles is not None:
                ax.set_title(titles[k], fontsize=9)
    return axes


def filter_explorer(image: np.ndarray, convolve: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    filters: Mapping[str, np.ndarray] | None = None):
    """A dropdown of filters; shows the kernel's numbers, the image and the filtered image.

    ``convolve(image, kernel)`` is the learner's own convolution.
    """
    import ipywidgets as widgets

    filters = dict(FILTERS if filters is None else filters)
    choice = widgets.Dropdown(options=list(filters), description="filter")

    def draw(name):
        kernel = filters[name]
        out = convolve(image, kernel)
        fig, axes = plots.figure(1, 2, figsize=(8, 3))
        plot_images([image, out], ["input", f"{name}"], cols=2, axes=axes)
        numbers = "; ".join(" ".join(f"{v:g}" for v in row) for row in np.round(kernel, 2))
        plots.show(fig, alt=(f"The photo and its convolution with the {name} filter "
                             f"(kernel rows: {numbers}). Output range "
                             f"{float(out.min()):.2f} to {float(out.max()):.2f}."))

    out = widgets.interactive_output(draw, {"name": choice})
    return widgets.VBox([choice, out])
