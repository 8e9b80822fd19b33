#!/usr/bin/python3
"""mkphoto.py OUT.png - a photograph-like test picture, 512 x 384 RGB (for
scripts/bench/decimate-quality): a sky gradient, a sun and hills with soft
edges, a textured field, trees, and fine noise blurred to the scale of a
camera's, from a fixed seed. NumPy (Debian's python3-numpy)."""
import struct
import sys
import zlib

import numpy as np


def blur(a, s):
    """separable Gaussian blur of an H x W x 3 array (sigma s pixels)"""
    r = int(3 * s) + 1
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * s * s))
    k /= k.sum()
    for axis in (0, 1):
        a = np.apply_along_axis(lambda v: np.convolve(np.pad(v, r, mode="edge"), k, mode="valid"), axis, a)
    return a


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[j].tobytes() for j in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

W, H = 512, 384
rng = np.random.default_rng(20261204)
y, x = np.mgrid[0:H, 0:W].astype(np.float64)
img = np.zeros((H, W, 3))
sky = (y / H)[..., None]
img[:] = (1 - sky) * np.array([90, 140, 220]) + sky * np.array([200, 220, 240])
sun = np.exp(-((x - 400) ** 2 + (y - 70) ** 2) / (2 * 22.0 ** 2))[..., None]
img = img * (1 - sun) + sun * np.array([255, 240, 200])
for cx, h, w, col in [(120, 210, 180, (70, 110, 60)), (330, 240, 220, (60, 100, 50)), (470, 200, 150, (80, 120, 70))]:
    ridge = h + 40 * np.exp(-((x - cx) / w) ** 2) * -1
    m = 1 / (1 + np.exp(-(y - ridge) / 2.0))
    img = img * (1 - m[..., None]) + m[..., None] * np.array(col)
field = 1 / (1 + np.exp(-(y - 280) / 3.0))
stripes = 0.5 + 0.5 * np.sin(x / 6.0 + 0.02 * np.maximum(y - 280, 0) ** 1.5 / 3)
fcol = np.stack([120 + 40 * stripes, 150 + 30 * stripes, 60 + 10 * stripes], -1)
img = img * (1 - field[..., None]) + field[..., None] * fcol
for tx in (60, 95, 250, 285):
    trunk = (np.abs(x - tx) < 4) & (y > 240) & (y < 300)
    crown = ((x - tx) ** 2 + (y - 225) ** 2) < 28 ** 2
    img[trunk] = (80, 60, 40)
    img[crown] = img[crown] * 0.3 + np.array([30, 80, 30]) * 0.7
noise = rng.normal(0, 12, (H, W, 3))
img = np.clip(blur(np.clip(img + noise, 0, 255), 1.2), 0, 255).astype(np.uint8)
write_png(sys.argv[1], img)
