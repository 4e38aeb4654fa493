"""Machinery for the first lessons: a line, its loss, and gradient descent.

The lessons write the loss and the gradient themselves; this module holds the
data, the pictures and the widgets around them, so the notebook keeps only what
the learner should read and change (as in d2l's shared library).

Examples
--------
>>> from tinyml_lib import linear
>>> volts, celsius = linear.calibration_data(n=20, seed=0)
>>> volts.shape, celsius.shape
((20,), (20,))
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from . import plots

#: The TMP36 analog temperature sensor: 10 mV per degree, 0.5 V at 0 degrees C.
TMP36_SLOPE = 100.0      # degrees C per volt
TMP36_INTERCEPT = -50.0  # degrees C at 0 V


def _as_vector(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one number per "
                         f"example); got shape {array.shape}.")
    if array.size == 0:
        raise ValueError(f"{name} is empty: pass at least one example.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def calibration_data(n: int = 50, noise: float = 1.5, seed: int = 0):
    """Readings of a TMP36 temperature sensor and the true temperatures.

    A microcontroller reads the sensor's output voltage (0.1 to 1.75 V); a
    reference thermometer gives the temperature in degrees Celsius. The
    relationship is a line (100 degrees C per volt, -50 degrees C at 0 V), and
    the thermometer readings carry Gaussian noise.

    Parameters
    ----------
    n : int
        Number of (voltage, temperature) pairs.
    noise : float
        Standard deviation of the thermometer noise, in degrees C.
    seed : int
        Random seed; the same seed gives the same data.

    Returns
    -------
    volts, celsius : ndarray of shape (n,)
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2 (two points make a line); got {n!r}.")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative; got {noise}.")
    rng = np.random.default_rng(seed)
    volts = np.sort(rng.uniform(0.1, 1.75, size=int(n)))
    celsius = TMP36_SLOPE * volts + TMP36_INTERCEPT + rng.normal(0.0, noise, size=int(n))
    return volts, celsius


def least_squares(x, y) -> tuple[float, float]:
    """The exact best line (slope, intercept) under mean squared error."""
    x = _as_vector("x", x)
    y = _as_vector("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length; got {x.size} and {y.size}.")
    slope, intercept = np.polyfit(x, y, deg=1)
    return float(slope), float(intercept)


def loss_grid(x, y, loss: Callable, slopes: Sequence[float], intercepts: Sequence[float]) -> np.ndarray:
    """``loss(y, w * x + b)`` for every pair of a grid; shape (len(intercepts), len(slopes))."""
    x = _as_vector("x", x)
    y = _as_vector("y", y)
    grid = np.empty((len(intercepts), len(slopes)))
    for i, b in enumerate(intercepts):
        for j, w in enumerate(slopes):
            grid[i, j] = loss(y, w * x + b)
    return grid


def plot_fit(x, y, w: float | None = None, b: float | None = None, ax=None,
             xlabel: str = "sensor output (V)", ylabel: str = "temperature (°C)"):
    """Scatter the data; with ``w`` and ``b``, draw the line and its errors."""
    if ax is None:
        fig, ax = plots.figure()
    ax.scatter(x, y, s=14, color="tab:blue", label="measurements")
    if w is not None and b is not None:
        grid = np.linspace(np.min(x), np.max(x), 50)
        ax.plot(grid, w * grid + b, color="tab:red", label=f"y = {w:.1f}·x + {b:.1f}")
        ax.vlines(x, y, w * np.asarray(x) + b, color="tab:red", alpha=0.3, linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left")
    return ax


def plot_loss_surface(x, y, loss: Callable, path: Sequence[tuple[float, float]] | None = None,
                      slopes=None, intercepts=None, ax=None):
    """Contours of the loss over (slope, intercept), with an optional descent path."""
    if slopes is None:
        slopes = np.linspace(0, 200, 81)
    if intercepts is None:
        intercepts = np.linspace(-150, 100, 81)
    grid = loss_grid(x, y, loss, slopes, intercepts)
    if ax is None:
        fig, ax = plots.figure()
    levels = np.geomspace(max(grid.min(), 1e-3), grid.max(), 15)
    contour = ax.contour(slopes, intercepts, grid, levels=levels, cmap="viridis")
    ax.clabel(contour, fontsize=7, fmt="%.0f")
    if path is not None and len(path):
        path = np.asarray(path, dtype=float)
        ax.plot(path[:, 0], path[:, 1], "o-", color="tab:red", markersize=2, linewidth=1,
                label="gradient descent")
        ax.plot(path[-1, 0], path[-1, 1], "*", color="black", markersize=10, label="last step")
        ax.legend(loc="upper right")
    ax.set_xlim(slopes[0], slopes[-1])
    ax.set_ylim(intercepts[0], intercepts[-1])
    ax.set_xlabel("slope w")
    ax.set_ylabel("intercept b")
    return ax


def plot_loss_curves(histories: Mapping[str, Sequence[float]], ax=None):
    """Loss per step (log scale) for one or more runs, keyed by a label."""
    if ax is None:
        fig, ax = plots.figure()
    for label, losses in histories.items():
        losses = np.asarray(losses, dtype=float)
        shown = np.where(np.isfinite(losses), losses, np.nan)
        ax.plot(np.arange(len(losses)), shown, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.legend()
    return ax


def fit_explorer(x, y, loss: Callable, w: float = 50.0, b: float = 0.0):
    """Sliders for slope and intercept; the line, its errors and the loss update live.

    Returns the ipywidgets container; display it as the last line of a cell.
    """
    import ipywidgets as widgets

    w_slider = widgets.FloatSlider(value=w, min=0, max=200, step=1, description="slope w",
                                   continuous_update=False)
    b_slider = widgets.FloatSlider(value=b, min=-150, max=100, step=1, description="intercept b",
                                   continuous_update=False)

    def draw(w, b):
        value = float(loss(np.asarray(y, dtype=float), w * np.asarray(x, dtype=float) + b))
        fig, ax = plots.figure()
        plot_fit(x, y, w, b, ax=ax)
        ax.set_title(f"loss = {value:,.1f}")
        plots.show(fig, alt=(f"The measurements with the line y = {w:.0f}·x + {b:.0f} "
                             f"and vertical bars for its errors; the loss is {value:,.1f}."))

    out = widgets.interactive_output(draw, {"w": w_slider, "b": b_slider})
    return widgets.VBox([widgets.HBox([w_slider, b_slider]), out])


def descent_explorer(x, y, loss: Callable, descend: Callable, learning_rate: float = 0.1,
                     steps: int = 50):
    """A learning-rate slider over ``descend(x, y, learning_rate, steps)``.

    ``descend`` is the learner's own gradient descent: it returns the list of
    (w, b) visited. The view shows the path on the loss contours and the loss
    per step.
    """
    import ipywidgets as widgets

    lr_slider = widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=0.2, step=0.1,
                                       description="learning rate", continuous_update=False)
    steps_slider = widgets.IntSlider(value=steps, min=1, max=max(200, steps), description="steps",
                                     continuous_update=False)

    def draw(learning_rate, steps):
        path = descend(x, y, learning_rate, steps)
        xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            losses = [float(loss(ys, w * xs + b)) for w, b in path]
        fig, (left, right) = plots.figure(1, 2, figsize=(9, 3.5))
        plot_loss_surface(x, y, loss, path=[p for p in path if np.all(np.isfinite(p))], ax=left)
        plot_loss_curves({f"learning rate {learning_rate:.3g}": losses}, ax=right)
        final = losses[-1]
        plots.show(fig, alt=(f"Left: the path of gradient descent on the loss contours with "
                             f"learning rate {learning_rate:.3g} for {steps} steps. Right: the "
                             f"loss per step, ending at {final:,.2f}."))

    out = widgets.interactive_output(draw, {"learning_rate": lr_slider, "steps": steps_slider})
    return widgets.VBox([widgets.HBox([lr_slider, steps_slider]), out])
