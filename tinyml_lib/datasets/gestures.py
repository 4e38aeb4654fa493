"""Magic-wand gestures: accelerometer and gyroscope strokes.

:func:`load_gestures` returns windows of a 6-axis IMU held like a wand:
accelerometer x, y, z in g and gyroscope x, y, z in degrees per second, sampled
by default at 119 Hz, the rate of the LSM9DS1 on the Arduino Nano 33 BLE Sense
(the original TFLM magic wand used 25 Hz: pass ``rate=25``).

The offline source simulates the physics: the wand tip follows a stroke shape
("wing" = W, "ring" = O, "slope" = a diagonal down then a line back across),
drawn by simulated people who differ in size, speed, grip tilt, handedness
and arm length; the strokes slow down at corners, the wand rotates as the arm
swings, the accelerometer feels gravity plus motion in the device frame, and
each device has its own bias, scale error, noise, tremor, and timing jitter.

Examples
--------
>>> from tinyml_lib.datasets import load_gestures
>>> x, labels, info = load_gestures(n_per_class=4, source="offline", seed=0)
>>> x.shape, sorted(set(labels.tolist()))
((12, 238, 6), ['ring', 'slope', 'wing'])
"""

from __future__ import annotations

import numpy as np

from ._core import DatasetInfo, cached_arrays, check_count, check_seed, progress, resolve_source

GESTURES = ("wing", "ring", "slope")
NEGATIVE = "negative"
CHANNELS = ("accel_x", "accel_y", "accel_z", "gyro_x", "gyro_y", "gyro_z")
UNITS = ("g", "g", "g", "deg/s", "deg/s", "deg/s")
#: No real source: the TFLM magic-wand recordings (download.tensorflow.org/models/
#: tflite/magic_wand/data.tar.gz) are accelerometer-only at 25 Hz and published with
#: a SHA-1 only, which the SHA-256-checked downloader cannot verify.
REAL_SOURCES: tuple[str, ...] = ()
G = 9.80665
ACCEL_RANGE_G = 4.0        # LSM9DS1 default full scale
GYRO_RANGE_DPS = 2000.0

# The strokes in the drawing plane, unit size (u to the right, v up), as drawn
# by a right-handed person. Mirrored (u -> -u) for left-handed people.
_SHAPES = {
    "wing": np.array([[-0.5, 0.5], [-0.25, -0.5], [0.0, 0.15], [0.25, -0.5], [0.5, 0.5]]),
    "slope": np.array([[0.4, 0.5], [-0.4, -0.5], [0.5, -0.5]]),
}


def _check_rate(rate) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 10 <= rate <= 1000:
        raise ValueError(f"rate must be a sampling rate in Hz between 10 and 1000 (the "
                         f"LSM9DS1 runs at 119 Hz); got {rate!r}.")
    return float(rate)


def _check_seconds(seconds) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not 1.0 <= seconds <= 10:
        raise ValueError(f"seconds must be a window length between 1 and 10 s (a gesture takes "
                         f"about 1 s); got {seconds!r}.")
    return float(seconds)


def load_gestures(n_per_class: int, source: str = "auto", seed: int = 0,
                  gestures=GESTURES, negative: bool = False, rate: float = 119.0,
                  seconds: float = 2.0, n_people: int = 8):
    """Accelerometer + gyroscope windows of magic-wand gestures.

    Parameters
    ----------
    n_per_class : int
        Windows per gesture (and of ``"negative"`` with ``negative=True``).
    source : {"auto", "offline"}
        Only the offline simulator is available (see the module notes);
        ``"auto"`` uses it.
    seed : int
        Random seed; the same seed gives the same people and windows.
    gestures : sequence of str
        Which gestures, from ``"wing"``, ``"ring"``, ``"slope"``.
    negative : bool
        Also return ``"negative"`` windows: holding still, wandering, swiping,
        shaking (anything that is not a gesture).
    rate : float
        Sampling rate in Hz (119 like the Nano 33 BLE Sense; 25 like the
        original magic wand).
    seconds : float
        Window length; each window holds one gesture at a random time within it.
    n_people : int
        How many simulated people perform the gestures (at least 2, so that you
        can hold out people).

    Returns
    -------
    x : ndarray, float32, shape (N, round(rate * seconds), 6)
        Accelerometer x, y, z in g, then gyroscope x, y, z in deg/s (device frame:
        x along the wand, y to the left, z up when held level).
    labels : ndarray of str, shape (N,)
        The gesture of each window.
    info : DatasetInfo
        ``info.details["people"]`` is the person (0 .. n_people - 1) of each
        window, for splitting by person; also ``rate``, ``channels``, ``units``.

    Examples
    --------
    >>> x, labels, info = load_gestures(4, rate=25, negative=True)
    >>> x.shape, info.details["people"].shape
    ((16, 50, 6), (16,))
    """
    n_per_class = check_count("n_per_class", n_per_class)
    seed = check_seed(seed)
    if isinstance(gestures, str):
        gestures = (gestures,)
    gestures = tuple(gestures)
    unknown = [g for g in gestures if g not in GESTURES]
    if unknown or not gestures or len(set(gestures)) != len(gestures):
        raise ValueError(f"gestures must be distinct names from {', '.join(GESTURES)}; "
                         f"got {gestures!r}.")
    if not isinstance(negative, bool):
        raise ValueError(f"negative must be True or False; got {negative!r}.")
    rate = _check_rate(rate)
    seconds = _check_seconds(seconds)
    n_people = check_count("n_people", n_people, minimum=2)
    source = resolve_source(source, REAL_SOURCES)
    classes = list(gestures) + ([NEGATIVE] if negative else [])
    settings = {"v": 1, "source": source, "n": n_per_class, "seed": seed, "classes": classes,
                "rate": rate, "seconds": seconds, "people": n_people}

    def build():
        rng = np.random.default_rng([seed, 119])
        people = [_person_traits(np.random.default_rng([seed, 7, p])) for p in range(n_people)]
        labels = np.repeat(np.array(classes), n_per_class)
        who = np.concatenate([rng.permutation(np.arange(n_per_class) % n_people)
                              for _ in classes])
        order = rng.permutation(labels.size)
        labels, who = labels[order], who[order]
        seeds = rng.integers(0, 2**63 - 1, size=labels.size)
        length = int(round(rate * seconds))
        x = np.empty((labels.size, length, 6), dtype=np.float32)
        for i in progress(range(labels.size), total=labels.size, desc="simulating gestures"):
            x[i] = _window(np.random.default_rng(seeds[i]), str(labels[i]), people[who[i]],
                           rate, length)
        return {"x": x, "labels": labels, "people": who.astype(np.int64)}

    arrays, path, _ = cached_arrays("gestures", settings, build)
    info = DatasetInfo(
        name="gestures", source="offline",
        description=(f"Simulated 6-axis IMU (accelerometer in g, gyroscope in deg/s) at "
                     f"{rate:g} Hz: {n_people} simulated people drawing "
                     f"{', '.join(gestures)} with a wand, with per-person size, speed, tilt "
                     "and handedness, gravity, sensor bias, noise, tremor and timing jitter."),
        classes=classes, cache_path=path,
        details={"people": arrays["people"], "rate": rate, "seconds": seconds,
                 "channels": list(CHANNELS), "units": list(UNITS), "n_people": n_people,
                 "seed": seed, "synthetic": True})
    return arrays["x"], arrays["labels"], info


def _person_traits(rng) -> dict:
    """How one simulated person holds the wand and draws."""
    return {
        "size": rng.uniform(0.12, 0.3),             # metres across a stroke
        "duration": rng.uniform(0.8, 1.4),          # seconds per gesture
        "left_handed": bool(rng.random() < 0.2),
        "grip": np.radians(rng.normal(0, [12, 15, 20])),  # roll, pitch, yaw of the grip
        "arm": rng.uniform(0.45, 0.75),             # metres, wrist-to-shoulder lever
        "plane_tilt": np.radians(rng.normal(0, 10)),
        "aspect": rng.uniform(0.8, 1.25),           # taller or wider strokes
        "tremor": rng.uniform(0.004, 0.015),        # g
        "accel_bias": rng.normal(0, 0.02, 3),       # g
        "accel_scale": 1 + rng.normal(0, 0.015, 3),
        "gyro_bias": rng.normal(0, 1.5, 3),         # deg/s
    }


def _min_jerk(tau: np.ndarray) -> np.ndarray:
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


def _stroke(rng, label: str, person: dict, t: np.ndarray, t0: float, duration: float):
    """Tip position (u, v) in metres at times ``t`` for one gesture."""
    tau = np.clip((t - t0) / duration, 0.0, 1.0)
    if label == "ring":
        turns = rng.uniform(1.0, 1.15)
        angle = 2 * np.pi * turns * _min_jerk(tau) + rng.normal(0, 0.15)
        radius = 0.5 * (1 + rng.normal(0, 0.05))
        uv = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    else:
        points = _SHAPES[label] + rng.normal(0, 0.04, _SHAPES[label].shape)
        lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
        weights = lengths**0.6 * rng.uniform(0.85, 1.15, lengths.size)
        edges = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        segment = np.clip(np.searchsorted(edges, tau, side="right") - 1, 0, lengths.size - 1)
        local = np.clip((tau - edges[segment]) / (edges[segment + 1] - edges[segment]), 0, 1)
        s = _min_jerk(local)[:, None]   # people stop briefly at every corner
        uv = points[segment] + s * (points[segment + 1] - points[segment])
    size = person["size"] * rng.uniform(0.9, 1.1)
    uv = uv - uv[0]  # start where the hand was
    uv[:, 0] *= size * person["aspect"] ** 0.5
    uv[:, 1] *= size / person["aspect"] ** 0.5
    if person["left_handed"]:
        uv[:, 0] = -uv[:, 0]
    return uv


def _other_motion(rng, t: np.ndarray):
    """A non-gesture: holding still, wandering, a straight swipe, or shaking."""
    kind = rng.choice(["still", "wander", "swipe", "shake"])
    n = t.size
    if kind == "still":  # a slow drift of a few millimetres
        freq = rng.uniform(0.2, 1.0, 2)
        return 0.004 * np.sin(2 * np.pi * freq * t[:, None] + rng.uniform(0, 2 * np.pi, 2))
    if kind == "wander":
        steps = rng.normal(0, 1, (n, 2))
        width = max(3, int(0.25 * n / (t[-1] - t[0] + 1e-9)))
        kernel = np.hanning(2 * width + 1)
        smooth = np.stack([np.convolve(steps[:, k], kernel, mode="same") for k in range(2)], 1)
        path = np.cumsum(smooth, axis=0)
        return 0.15 * path / (np.abs(path).max() + 1e-9)
    if kind == "swipe":
        t0 = rng.uniform(t[0], t[0] + 0.5 * (t[-1] - t[0]))
        tau = np.clip((t - t0) / rng.uniform(0.3, 0.8), 0, 1)
        direction = rng.normal(0, 1, 2)
        direction = rng.uniform(0.1, 0.3) * direction / np.linalg.norm(direction)
        return np.outer(_min_jerk(tau), direction)
    freq = rng.uniform(2, 4)
    amp = rng.uniform(0.005, 0.02)
    phase = rng.uniform(0, 2 * np.pi, 2)
    return amp * np.sin(2 * np.pi * freq * t[:, None] + phase)


def _rotation(roll, pitch, yaw) -> np.ndarray:
    """Rotation matrices (n, 3, 3) for z-y-x (yaw, pitch, roll) angles."""
    cr, sr = np.cos(roll), np.sin(roll)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    return np.stack([
        np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
        np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
        np.stack([-sp, cp * sr, cp * cr], -1)], -2)


def _window(rng, label: str, person: dict, rate: float, length: int) -> np.ndarray:
    """One window: simulate at a fine rate, then sample at ``rate`` with jitter."""
    fine = max(4 * rate, 400.0)
    seconds = length / rate
    t = np.arange(int(np.ceil(seconds * fine)) + 4) / fine
    if label == NEGATIVE:
        uv = _other_motion(rng, t)
    else:
        strokes = {"wing": 1.4, "ring": 1.1, "slope": 1.0}[label]  # W has four strokes
        duration = person["duration"] * strokes * rng.uniform(0.85, 1.15)
        duration = min(duration, 0.85 * seconds)
        t0 = rng.uniform(0.05 * seconds, seconds - duration - 0.05 * seconds)
        uv = _stroke(rng, label, person, t, t0, duration)
    # the drawing plane (x right, z up) tilted a little towards or away from the body
    tilt = person["plane_tilt"] + rng.normal(0, 0.05)
    pos = np.stack([uv[:, 0], uv[:, 1] * np.sin(tilt), uv[:, 1] * np.cos(tilt)], axis=1)
    accel_world = np.gradient(np.gradient(pos, 1 / fine, axis=0), 1 / fine, axis=0)
    # the wand pivots at the shoulder: it turns towards the tip, and the wrist rolls a bit
    arm = person["arm"]
    grip = person["grip"] + rng.normal(0, np.radians(4), 3)
    yaw = grip[2] + pos[:, 0] / arm
    pitch = grip[1] - pos[:, 2] / arm
    roll = grip[0] + 0.3 * pos[:, 0] / arm
    rot = _rotation(roll, pitch, yaw)                     # device -> world
    specific_force = accel_world + np.array([0.0, 0.0, G])
    accel = np.einsum("nji,nj->ni", rot, specific_force) / G
    # body-frame angular velocity from consecutive rotations
    delta = np.einsum("nji,njk->nik", rot[:-1], rot[1:])
    omega = np.stack([delta[:, 2, 1] - delta[:, 1, 2], delta[:, 0, 2] - delta[:, 2, 0],
                      delta[:, 1, 0] - delta[:, 0, 1]], axis=1) * fine / 2
    gyro = np.degrees(np.vstack([omega, omega[-1:]]))
    # physiological tremor (8-12 Hz) on both sensors
    f_tremor = rng.uniform(8, 12)
    phase = rng.uniform(0, 2 * np.pi, 3)
    tremor = np.sin(2 * np.pi * f_tremor * t[:, None] + phase)
    accel = accel + person["tremor"] * tremor
    gyro = gyro + person["tremor"] * 60 * tremor[:, ::-1]
    # sample at the IMU rate, with timing jitter
    times = np.arange(length) / rate + rng.normal(0, 0.1 / rate, length)
    times = np.clip(times, 0, t[-1])
    out = np.empty((length, 6))
    for k in range(3):
        out[:, k] = np.interp(times, t, accel[:, k])
        out[:, 3 + k] = np.interp(times, t, gyro[:, k])
    out[:, :3] = out[:, :3] * person["accel_scale"] + person["accel_bias"]
    out[:, 3:] += person["gyro_bias"]
    out[:, :3] += rng.normal(0, 0.004, (length, 3))
    out[:, 3:] += rng.normal(0, 0.3, (length, 3))
    out[:, :3] = np.clip(out[:, :3], -ACCEL_RANGE_G, ACCEL_RANGE_G)
    out[:, 3:] = np.clip(out[:, 3:], -GYRO_RANGE_DPS, GYRO_RANGE_DPS)
    return out.astype(np.float32)


def plot_gesture(window, rate: float = 119.0, title: str | None = None, axes=None):
    """Plot one window: accelerometer (top) and gyroscope (bottom) against time.

    Parameters
    ----------
    window : array of shape (T, 6)
    rate : float
        Sampling rate in Hz (``info.details["rate"]``).
    title : str, optional
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    numpy array of the two Axes; pass ``axes[0].figure`` to :func:`tinyml_lib.plots.show`.
    """
    from .. import plots

    window = np.asarray(window, dtype=float)
    if window.ndim != 2 or window.shape[1] != 6:
        raise ValueError(f"window must have shape (T, 6) (accel xyz, gyro xyz); got "
                         f"{window.shape}. Pass one example, e.g. x[0].")
    rate = _check_rate(rate)
    if axes is None:
        _, axes = plots.figure(2, 1, sharex=True, figsize=(6, 4))
    axes = np.asarray(axes)
    time = np.arange(window.shape[0]) / rate
    for k, axis_name in enumerate("xyz"):
        axes[0].plot(time, window[:, k], label=axis_name)
        axes[1].plot(time, window[:, 3 + k], label=axis_name)
    axes[0].set_ylabel("acceleration (g)")
    axes[1].set_ylabel("rotation (deg/s)")
    axes[1].set_xlabel("time (s)")
    axes[0].legend(loc="upper right", fontsize=8, ncols=3)
    if title:
        axes[0].set_title(title)
    return axes
