"""Procedural grayscale scenes with or without a person (for :func:`load_person`).

Everything is drawn with anti-aliased NumPy primitives on a coordinate grid, so
a 96x96 scene takes about a millisecond. A scene is a room (wall, floor, light
falloff, texture), several distractors (tables, shelves, doors, windows, plants,
lamps, poles, picture frames, balls), optionally a person (head, neck, torso,
two-segment arms and legs in a random pose, shirt / trousers / skin tones drawn
independently of the background), optionally furniture in front of the person,
then blur, gain, gamma and sensor noise.
"""

from __future__ import annotations

import numpy as np


class _Canvas:
    def __init__(self, size: int):
        self.size = size
        coords = (np.arange(size, dtype=np.float32) + 0.5) / size  # unit square
        self.yy, self.xx = np.meshgrid(coords, coords, indexing="ij")
        self.image = np.zeros((size, size), dtype=np.float32)
        self.soft = 1.0 / size  # one pixel of anti-aliasing

    def paint(self, alpha: np.ndarray, value) -> None:
        self.image += alpha * (value - self.image)

    def _alpha(self, distance: np.ndarray) -> np.ndarray:
        """Coverage from a signed distance (negative inside)."""
        return np.clip(0.5 - distance / self.soft, 0.0, 1.0)

    def capsule(self, p0, p1, radius, value) -> None:
        (y0, x0), (y1, x1) = p0, p1
        dy, dx = y1 - y0, x1 - x0
        length2 = dy * dy + dx * dx + 1e-12
        t = np.clip(((self.yy - y0) * dy + (self.xx - x0) * dx) / length2, 0, 1)
        d = np.hypot(self.yy - (y0 + t * dy), self.xx - (x0 + t * dx)) - radius
        self.paint(self._alpha(d), value)

    def ellipse(self, center, ry, rx, value, angle: float = 0.0) -> None:
        cy, cx = center
        c, s = np.cos(angle), np.sin(angle)
        u = (self.xx - cx) * c + (self.yy - cy) * s
        v = -(self.xx - cx) * s + (self.yy - cy) * c
        r = np.sqrt((u / rx) ** 2 + (v / ry) ** 2) + 1e-12
        d = (r - 1.0) * min(rx, ry)
        self.paint(self._alpha(d), value)

    def rect(self, top, left, bottom, right, value) -> None:
        d = np.maximum.reduce([top - self.yy, self.yy - bottom, left - self.xx, self.xx - right])
        self.paint(self._alpha(d), value)

    def trapezoid(self, top, bottom, cx, half_top, half_bottom, value) -> None:
        t = np.clip((self.yy - top) / max(bottom - top, 1e-6), 0, 1)
        half = half_top + t * (half_bottom - half_top)
        d = np.maximum.reduce([top - self.yy, self.yy - bottom, np.abs(self.xx - cx) - half])
        self.paint(self._alpha(d), value)


def _contrasting(rng, background: float) -> float:
    """A gray level at least 0.15 away from ``background``."""
    for _ in range(20):
        value = rng.uniform(0.05, 0.95)
        if abs(value - background) > 0.15:
            return value
    return 1.0 - background


def _room(canvas: _Canvas, rng) -> float:
    """Wall, floor, lighting and texture; returns the floor line (y in [0, 1])."""
    size = canvas.size
    horizon = rng.uniform(0.45, 0.85)
    wall = rng.uniform(0.25, 0.85)
    floor = np.clip(wall + rng.choice([-1, 1]) * rng.uniform(0.1, 0.35), 0.05, 0.95)
    canvas.image[:] = np.where(canvas.yy < horizon, wall, floor)
    # smooth texture: a few random low-frequency waves
    for _ in range(3):
        fy, fx = rng.uniform(1, 6, size=2)
        phase = rng.uniform(0, 2 * np.pi)
        canvas.image += rng.uniform(0.01, 0.05) * np.sin(2 * np.pi * (fy * canvas.yy
                                                                     + fx * canvas.xx) + phase)
    # fine texture (wallpaper, carpet)
    coarse = rng.normal(0, 1, size=(size // 8 + 2, size // 8 + 2)).astype(np.float32)
    texture = np.kron(coarse, np.ones((8, 8), dtype=np.float32))[:size, :size]
    canvas.image += rng.uniform(0.0, 0.06) * texture
    return horizon


def _distractor(canvas: _Canvas, rng, horizon: float) -> None:
    kind = rng.choice(["table", "shelf", "door", "window", "plant", "lamp", "pole", "frame",
                       "ball", "chair", "coat_rack"])
    value = rng.uniform(0.05, 0.95)
    x = rng.uniform(0.05, 0.95)
    scale = rng.uniform(0.5, 1.3)
    base = np.clip(horizon + rng.uniform(0.0, 0.15), 0, 1.05)
    if kind == "table":
        w, h = 0.25 * scale, 0.2 * scale
        canvas.rect(base - h, x - w, base - h + 0.03, x + w, value)
        for leg in (x - w + 0.02, x + w - 0.02):
            canvas.rect(base - h, leg - 0.012, base, leg + 0.012, value)
    elif kind == "shelf":
        w, h = 0.15 * scale, 0.55 * scale
        canvas.rect(base - h, x - w, base, x + w, value)
        shade = np.clip(value + rng.choice([-0.25, 0.25]), 0, 1)
        for k in range(1, 4):
            top = base - h + k * h / 4
            canvas.rect(top - 0.01, x - w, top + 0.01, x + w, shade)
    elif kind == "door":
        canvas.rect(base - 0.7 * scale, x - 0.12, base, x + 0.12, value)
        canvas.ellipse((base - 0.35 * scale, x + 0.08), 0.015, 0.015, 1 - value)
    elif kind == "window":
        top = rng.uniform(0.05, 0.3)
        w = 0.15 * scale
        canvas.rect(top, x - w, top + 0.3 * scale, x + w, rng.uniform(0.7, 1.0))
        canvas.rect(top, x - 0.008, top + 0.3 * scale, x + 0.008, value)
        canvas.rect(top + 0.15 * scale - 0.008, x - w, top + 0.15 * scale + 0.008, x + w, value)
    elif kind == "plant":
        canvas.trapezoid(base - 0.12 * scale, base, x, 0.06 * scale, 0.04 * scale, value)
        leaf = rng.uniform(0.05, 0.95)
        for _ in range(rng.integers(3, 7)):
            angle = rng.uniform(-1.2, 1.2)
            length = rng.uniform(0.1, 0.25) * scale
            tip = (base - 0.12 * scale - length * np.cos(angle), x + length * np.sin(angle))
            canvas.ellipse(((base - 0.12 * scale + tip[0]) / 2, (x + tip[1]) / 2),
                           length / 2, 0.03 * scale, leaf, angle=-angle)
    elif kind == "lamp":  # a vertical stand with a round or conical shade: head-like
        h = rng.uniform(0.35, 0.7) * scale
        canvas.capsule((base - h, x), (base, x), 0.01, value)
        canvas.rect(base - 0.015, x - 0.06, base, x + 0.06, value)
        if rng.random() < 0.5:
            canvas.ellipse((base - h, x), 0.06 * scale, 0.05 * scale, rng.uniform(0.3, 1.0))
        else:
            canvas.trapezoid(base - h - 0.07 * scale, base - h, x, 0.03 * scale,
                             0.08 * scale, rng.uniform(0.3, 1.0))
    elif kind == "pole":
        canvas.rect(0.0, x - 0.02 * scale, base, x + 0.02 * scale, value)
    elif kind == "frame":
        top, w = rng.uniform(0.05, 0.4), 0.1 * scale
        canvas.rect(top, x - w, top + 0.8 * w * 2, x + w, value)
        canvas.rect(top + 0.02, x - w + 0.02, top + 1.6 * w - 0.02, x + w - 0.02,
                    rng.uniform(0, 1))
    elif kind == "ball":
        r = 0.06 * scale
        canvas.ellipse((base - r, x), r, r, value)
    elif kind == "chair":
        h = 0.35 * scale
        canvas.rect(base - h, x - 0.08 * scale, base - h + 0.2 * h, x - 0.06 * scale, value)
        canvas.rect(base - h, x - 0.08 * scale, base, x - 0.065 * scale, value)
        canvas.rect(base - 0.5 * h, x - 0.08 * scale, base - 0.45 * h, x + 0.1 * scale, value)
        canvas.rect(base - 0.5 * h, x + 0.085 * scale, base, x + 0.1 * scale, value)
        canvas.rect(base - h, x - 0.08 * scale, base - 0.5 * h, x - 0.06 * scale, value)
    else:  # coat rack: a pole with hooks and a hanging coat
        h = 0.75 * scale
        canvas.capsule((base - h, x), (base, x), 0.012, value)
        for side in (-1, 1):
            canvas.capsule((base - h + 0.02, x), (base - h + 0.06, x + side * 0.05), 0.008, value)
        if rng.random() < 0.6:
            canvas.trapezoid(base - h + 0.05, base - h + 0.4 * scale, x + 0.04, 0.03,
                             0.07 * scale, rng.uniform(0, 1))
        canvas.rect(base - 0.01, x - 0.08, base, x + 0.08, value)


def _person(canvas: _Canvas, rng, horizon: float, background: float) -> dict:
    """Draw one person; returns their bounding box (top, left, bottom, right)."""
    height = rng.uniform(0.2, 0.95)
    feet = np.clip(horizon + rng.uniform(-0.05, 0.25), height * 0.85, 1.25)
    cx = rng.uniform(0.1, 0.9)
    head_r = 0.065 * height
    top = feet - height
    skin = _contrasting(rng, background)
    shirt = _contrasting(rng, background)
    trousers = _contrasting(rng, background) if rng.random() < 0.7 else shirt
    facing = rng.choice([-1.0, 1.0])
    sideways = rng.random() < 0.3  # profile view: a narrower body
    width = 0.11 * height * (0.6 if sideways else 1.0) * rng.uniform(0.85, 1.2)

    neck = top + 2 * head_r
    shoulder = neck + 0.03 * height
    hip = top + 0.52 * height
    knee = hip + 0.24 * height
    # legs: walking / standing / sitting-ish strides
    stride = rng.uniform(0, 0.35) * height * (0.5 if sideways else 1.0)
    for side, phase in ((-1, 1.0), (1, -1.0)):
        hx = cx + side * width * 0.45
        kx = hx + phase * stride * 0.4 + rng.normal(0, 0.01)
        fx = hx + phase * stride * 0.8 + rng.normal(0, 0.01)
        canvas.capsule((hip, hx), (knee, kx), 0.04 * height, trousers)
        canvas.capsule((knee, kx), (feet - 0.02 * height, fx), 0.035 * height, trousers)
        canvas.ellipse((feet - 0.015 * height, fx + facing * 0.02 * height), 0.018 * height,
                       0.04 * height, min(trousers, skin) * 0.5)
    canvas.trapezoid(shoulder - 0.01 * height, hip + 0.02 * height, cx, width,
                     width * rng.uniform(0.75, 1.0), shirt)
    canvas.ellipse((shoulder + 0.01 * height, cx), 0.03 * height, width * 1.05, shirt)
    canvas.capsule((neck - 0.01 * height, cx), (shoulder, cx), 0.025 * height, skin)
    canvas.ellipse((top + head_r, cx + facing * 0.005), head_r * 1.1, head_r * 0.9, skin)
    if rng.random() < 0.6:  # hair
        hair = _contrasting(rng, skin)
        canvas.ellipse((top + head_r * 0.7, cx - facing * head_r * 0.15), head_r * 0.8,
                       head_r * 0.95, hair)
    # arms: two segments from each shoulder, random raise and bend
    for side in (-1, 1):
        sx = cx + side * width * 0.95
        raise_angle = rng.uniform(-0.3, 2.4) if rng.random() < 0.35 else rng.uniform(-0.2, 0.5)
        bend = rng.uniform(0, 1.6)
        upper = 0.18 * height
        fore = 0.17 * height
        a1 = raise_angle
        ex = sx + side * upper * np.sin(a1)
        ey = shoulder + upper * np.cos(a1)
        a2 = a1 + bend * rng.choice([-1, 1])
        hx = ex + side * fore * np.sin(a2)
        hy = ey + fore * np.cos(a2)
        sleeve = shirt if rng.random() < 0.6 else skin
        canvas.capsule((shoulder + 0.01 * height, sx), (ey, ex), 0.028 * height, shirt)
        canvas.capsule((ey, ex), (hy, hx), 0.024 * height, sleeve)
        canvas.ellipse((hy, hx), 0.022 * height, 0.018 * height, skin)
    return {"box": (top, cx - 2 * width, feet, cx + 2 * width)}


def render(rng, size: int, person: bool):
    """One scene as a float32 (size, size) image in [0, 1], and its metadata."""
    canvas = _Canvas(size)
    horizon = _room(canvas, rng)
    n_back = rng.integers(1, 5)
    for _ in range(n_back):
        _distractor(canvas, rng, horizon)
    meta = {"person_height": 0.0, "occluded": False}
    if person:
        background = float(np.median(canvas.image))
        drawn = _person(canvas, rng, horizon, background)
        top, _, feet, _ = drawn["box"]
        meta["person_height"] = float(np.clip(min(feet, 1.0) - max(top, 0.0), 0, 1))
        if rng.random() < 0.3:  # furniture in front hides the lower body
            value = rng.uniform(0.05, 0.95)
            cover = top + rng.uniform(0.5, 0.8) * (feet - top)
            x = (drawn["box"][1] + drawn["box"][3]) / 2 + rng.uniform(-0.1, 0.1)
            canvas.rect(cover, x - rng.uniform(0.1, 0.35), 1.1, x + rng.uniform(0.1, 0.35),
                        value)
            meta["occluded"] = True
    # foreground distractors for both classes, so "something in front" is no cue
    if rng.random() < 0.3:
        _distractor(canvas, rng, min(1.0, horizon + 0.2))
    image = canvas.image
    # lighting: a directional gradient and a vignette
    gy, gx = rng.normal(0, 0.25, size=2)
    image = image * (1 + gy * (canvas.yy - 0.5) + gx * (canvas.xx - 0.5))
    image = image * (1 - rng.uniform(0, 0.5) * ((canvas.yy - 0.5) ** 2 + (canvas.xx - 0.5) ** 2))
    image = image * rng.uniform(0.6, 1.3) + rng.uniform(-0.1, 0.1)
    image = _blur(image, rng.uniform(0.0, 1.2))
    image = np.clip(image, 0, 1) ** rng.uniform(0.7, 1.4)
    image = image + rng.normal(0, rng.uniform(0.005, 0.04), size=image.shape)
    return np.clip(image, 0, 1).astype(np.float32), meta


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return image
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(image, radius, mode="edge")
    rows = np.apply_along_axis(lambda r: np.convolve(r, taps, mode="valid"), 1, padded)
    return np.apply_along_axis(lambda c: np.convolve(c, taps, mode="valid"), 0, rows)
