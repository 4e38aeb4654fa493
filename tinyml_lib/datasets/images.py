"""Images for the vision lessons: small labelled images, and person / no-person.

:func:`load_images`
    The small-image set of the CNN lessons. ``"fashion_mnist"`` downloads
    Zalando's Fashion-MNIST (70,000 28x28 photos of clothing in 10 classes);
    ``"offline"`` uses scikit-learn's copy of the **real** UCI handwritten digits
    (1,797 8x8 scans of digits written by 43 people, shipped inside scikit-learn,
    no download), upscaled to ``size`` pixels.
:func:`load_person`
    Person / no-person scenes for visual wake words (96x96 grayscale, like the
    TFLM ``person_detection`` model's input). ``"offline"`` renders synthetic
    scenes (see :mod:`tinyml_lib.datasets._scenes`).
:func:`plot_images`
    A labelled grid of images.

Every image loader returns ``(x, y, info)`` with ``x`` float32 of shape
``(N, H, W, 1)`` in [0, 1] and ``y`` int64 labels indexing ``info.classes``;
``split="train" | "test"`` picks one of two disjoint parts.

Examples
--------
>>> from tinyml_lib.datasets import load_images
>>> x, y, info = load_images(n_per_class=5, source="offline", seed=0)
>>> x.shape, x.dtype.name, info.classes[:3]
((50, 28, 28, 1), 'float32', ['0', '1', '2'])
"""

from __future__ import annotations

import numpy as np

from ._core import (DatasetInfo, cached_arrays, check_count, check_seed, download, progress,
                    resolve_source)

#: Fashion-MNIST, hosted by Zalando Research (MIT licence).
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_FILES = {
    "train": (("train-images-idx3-ubyte.gz",
               "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"),
              ("train-labels-idx1-ubyte.gz",
               "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc")),
    "test": (("t10k-images-idx3-ubyte.gz",
              "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"),
             ("t10k-labels-idx1-ubyte.gz",
              "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf")),
}
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]
IMAGE_SOURCES = ("fashion_mnist",)
PERSON_SOURCES: tuple[str, ...] = ()
PERSON_CLASSES = ["no_person", "person"]
SPLITS = ("train", "test")
#: Share of the offline digits held out as the test split (same for every seed).
DIGITS_TEST_FRACTION = 0.25


def _check_split(split) -> str:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of 'train', 'test'.")
    return split


def _check_size(size, minimum: int = 8, maximum: int = 256) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not minimum <= size <= maximum:
        raise ValueError(f"size must be an integer number of pixels between {minimum} and "
                         f"{maximum}; got {size!r}.")
    return size


def _resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a (N, H, W) stack to (N, size, size)."""
    if x.shape[1] == size and x.shape[2] == size:
        return x
    from scipy import ndimage

    zoom = (1, size / x.shape[1], size / x.shape[2])
    return np.clip(ndimage.zoom(x, zoom, order=1, grid_mode=True, mode="nearest"), 0, 1)


def _pick(y: np.ndarray, n_per_class: int | None, n_classes: int, rng) -> np.ndarray:
    """Indices: ``n_per_class`` random examples of every class (all when None), shuffled."""
    if n_per_class is None:
        return rng.permutation(len(y))
    chosen = []
    for label in range(n_classes):
        where = np.flatnonzero(y == label)
        if n_per_class > where.size:
            raise ValueError(f"n_per_class={n_per_class} is more than the {where.size} "
                             f"examples of class {label} in this split; ask for fewer.")
        chosen.append(rng.choice(where, size=n_per_class, replace=False))
    return rng.permutation(np.concatenate(chosen))


def load_images(n_per_class: int | None = None, source: str = "auto", seed: int = 0,
                split: str = "train", size: int = 28):
    """Small labelled grayscale images for the CNN lessons.

    Parameters
    ----------
    n_per_class : int or None
        Images per class (balanced); ``None`` keeps the whole split.
    source : {"auto", "offline", "fashion_mnist"}
        ``"fashion_mnist"`` downloads Fashion-MNIST (4 files, 30 MB, SHA-256
        checked); ``"offline"`` uses scikit-learn's real handwritten digits;
        ``"auto"`` is Fashion-MNIST when online, else the digits.
    seed : int
        Which images are picked and their order.
    split : {"train", "test"}
        Fashion-MNIST's own 60,000 / 10,000 split; for the digits, a fixed
        stratified 75 % / 25 % split (1,347 / 450 images, the same for every seed).
    size : int
        Height and width in pixels; images are resized bilinearly when it differs
        from the source (28 for Fashion-MNIST, 8 for the digits).

    Returns
    -------
    x : ndarray, float32, shape (N, size, size, 1), values in [0, 1]
    y : ndarray, int64, shape (N,), labels indexing ``info.classes``
    info : DatasetInfo

    Examples
    --------
    >>> x, y, info = load_images(n_per_class=20, source="offline", split="test")
    >>> x.shape, sorted(set(y.tolist())) == list(range(10))
    ((200, 28, 28, 1), True)
    """
    if n_per_class is not None:
        n_per_class = check_count("n_per_class", n_per_class)
    seed = check_seed(seed)
    split = _check_split(split)
    size = _check_size(size)
    source = resolve_source(source, IMAGE_SOURCES)
    settings = {"v": 1, "source": source, "n": n_per_class, "seed": seed, "split": split,
                "size": size}

    if source == "offline":
        def build():
            from sklearn.datasets import load_digits

            digits = load_digits()
            images = digits.images.astype(np.float32) / 16.0
            labels = digits.target.astype(np.int64)
            index = _digits_split(labels)[split]
            images, labels = images[index], labels[index]
            pick = _pick(labels, n_per_class, 10, np.random.default_rng(seed))
            return {"x": _resize(images[pick], size)[..., None].astype(np.float32),
                    "y": labels[pick]}

        arrays, path, _ = cached_arrays("images", settings, build)
        info = DatasetInfo(
            name="images", source="offline",
            description=("Handwritten digits 0-9: the UCI optical-recognition digits shipped "
                         "with scikit-learn (1,797 real 8x8 scans by 43 writers), "
                         f"upscaled bilinearly to {size}x{size}."),
            classes=[str(d) for d in range(10)], cache_path=path,
            details={"original_size": 8, "size": size, "split": split,
                     "test_fraction": DIGITS_TEST_FRACTION, "seed": seed,
                     "reference": "sklearn.datasets.load_digits"})
        return arrays["x"], arrays["y"], info

    (images_name, images_sha), (labels_name, labels_sha) = FASHION_MNIST_FILES[split]

    def build_real():
        images_path = download(FASHION_MNIST_URL + images_name, images_sha,
                               filename=images_name, folder="fashion_mnist")
        labels_path = download(FASHION_MNIST_URL + labels_name, labels_sha,
                               filename=labels_name, folder="fashion_mnist")
        images = _read_idx(images_path, ndim=3)
        labels = _read_idx(labels_path, ndim=1).astype(np.int64)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images_name} has {images.shape[0]} images but {labels_name} "
                             f"has {labels.shape[0]} labels.")
        pick = _pick(labels, n_per_class, 10, np.random.default_rng(seed))
        x = images[pick].astype(np.float32) / 255.0
        return {"x": _resize(x, size)[..., None].astype(np.float32), "y": labels[pick]}

    arrays, path, _ = cached_arrays("images", {**settings, "sha": images_sha}, build_real)
    info = DatasetInfo(
        name="images", source=source,
        description=("Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017; Zalando Research, MIT "
                     "licence): 28x28 grayscale photos of clothing in 10 classes."),
        classes=list(FASHION_MNIST_CLASSES), cache_path=path,
        details={"url": FASHION_MNIST_URL, "files": {images_name: images_sha,
                                                      labels_name: labels_sha},
                 "original_size": 28, "size": size, "split": split, "seed": seed})
    return arrays["x"], arrays["y"], info


def _digits_split(labels: np.ndarray) -> dict:
    """A fixed stratified split of the 1,797 digits (independent of the loader's seed)."""
    rng = np.random.default_rng(1797)
    test = []
    for label in range(10):
        where = np.flatnonzero(labels == label)
        k = int(round(DIGITS_TEST_FRACTION * where.size))
        test.append(rng.choice(where, size=k, replace=False))
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(labels.size), test)
    return {"train": train, "test": test}


def _read_idx(path, ndim: int) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format: magic, dimensions, then uint8 data)."""
    import gzip

    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ValueError(f"{path} is not a gzip file in the IDX layout ({exc}).") from exc
    header = 4 + 4 * ndim
    if len(data) < header or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise ValueError(f"{path} is not an IDX file of {ndim} dimension(s) of uint8.")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: the header says {shape}.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_person(n_per_class: int, source: str = "auto", seed: int = 0, size: int = 96,
                split: str = "train"):
    """Scenes with and without a person, for visual wake words.

    Parameters
    ----------
    n_per_class : int
        Images per class (``no_person`` and ``person``).
    source : {"auto", "offline"}
        Only the offline renderer is available (see Notes); ``"auto"`` uses it.
    seed : int
        Random seed; the same seed gives the same images.
    size : int
        Height and width in pixels (96 like the TFLM person_detection model).
    split : {"train", "test"}
        Two disjoint random streams, so test scenes are never training scenes.

    Returns
    -------
    x : ndarray, float32, shape (2 * n_per_class, size, size, 1), values in [0, 1]
    y : ndarray, int64, 1 for ``person`` and 0 for ``no_person``
    info : DatasetInfo
        ``info.details["person_height"]`` is each person's height as a fraction
        of the image (0 without a person), ``info.details["occluded"]`` whether
        furniture hides part of them.

    Notes
    -----
    Offline scenes are **synthetic**, drawn with NumPy: rooms with a wall and
    floor, uneven lighting, texture, furniture, plants, lamps, poles and doors;
    in half of them a person (head, torso, arms and legs in a random pose, size
    20-95 % of the image height, anywhere, clothes lighter or darker than the
    background, sometimes partly hidden behind furniture or cut by the border),
    then blur and sensor noise. The real Visual Wake Words set is built from COCO
    (about 40 GB, no single verifiable archive), so it is not downloaded here.

    Examples
    --------
    >>> x, y, info = load_person(n_per_class=4, source="offline", size=48)
    >>> x.shape, int(y.sum())
    ((8, 48, 48, 1), 4)
    """
    n_per_class = check_count("n_per_class", n_per_class)
    seed = check_seed(seed)
    size = _check_size(size, minimum=32)
    split = _check_split(split)
    source = resolve_source(source, PERSON_SOURCES)
    settings = {"v": 1, "source": source, "n": n_per_class, "seed": seed, "size": size,
                "split": split}

    def build():
        from . import _scenes

        stream = SPLITS.index(split)
        rng = np.random.default_rng([seed, stream, 96])
        labels = rng.permutation(np.repeat(np.array([0, 1], dtype=np.int64), n_per_class))
        seeds = rng.integers(0, 2**63 - 1, size=labels.size)
        x = np.empty((labels.size, size, size, 1), dtype=np.float32)
        height = np.zeros(labels.size, dtype=np.float32)
        occluded = np.zeros(labels.size, dtype=bool)
        for i in progress(range(labels.size), total=labels.size, desc="rendering scenes"):
            image, meta = _scenes.render(np.random.default_rng(seeds[i]), size,
                                         person=bool(labels[i]))
            x[i, :, :, 0] = image
            height[i] = meta["person_height"]
            occluded[i] = meta["occluded"]
        return {"x": x, "y": labels, "person_height": height, "occluded": occluded}

    arrays, path, _ = cached_arrays("person", settings, build)
    info = DatasetInfo(
        name="person", source="offline",
        description=("Synthetic grayscale scenes rendered with NumPy: rooms with furniture, "
                     "plants, lamps and doors, half of them with a person in a random pose, "
                     "size and place, sometimes partly hidden; blur and sensor noise."),
        classes=list(PERSON_CLASSES), cache_path=path,
        details={"synthetic": True, "size": size, "split": split, "seed": seed,
                 "person_height": arrays["person_height"], "occluded": arrays["occluded"]})
    return arrays["x"], arrays["y"], info


def plot_images(x, y=None, classes=None, n: int = 16, ncols: int = 8, ax=None):
    """Show the first ``n`` images in a grid, titled with their class.

    Parameters
    ----------
    x : array of shape (N, H, W) or (N, H, W, 1)
    y : array of int, optional
        Labels; with ``classes``, shown as names.
    classes : list of str, optional
    n, ncols : int
        How many images, and how many per row.
    ax : matplotlib Axes, optional
        An Axes whose area the grid fills; a new figure when None.

    Returns
    -------
    numpy array of Axes (one per image). Pass ``axes.flat[0].figure`` to
    :func:`tinyml_lib.plots.show`.
    """
    from .. import plots

    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty stack of grayscale images (N, H, W) or "
                         f"(N, H, W, 1); got shape {x.shape}.")
    n = min(check_count("n", n), x.shape[0])
    ncols = min(check_count("ncols", ncols), n)
    nrows = -(-n // ncols)
    if ax is None:
        fig, axes = plots.figure(nrows, ncols, figsize=(1.2 * ncols, 1.35 * nrows),
                                 squeeze=False)
    else:
        fig = ax.figure
        spec = ax.get_subplotspec().subgridspec(nrows, ncols)
        ax.remove()
        axes = np.array([[fig.add_subplot(spec[r, c]) for c in range(ncols)]
                         for r in range(nrows)])
    for i, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if i >= n:
            continue
        axis.imshow(x[i], cmap="gray", vmin=0, vmax=1)
        if y is not None:
            label = int(y[i])
            axis.set_title(classes[label] if classes else str(label), fontsize=8)
    return axes
