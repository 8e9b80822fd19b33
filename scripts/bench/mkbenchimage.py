#!/usr/bin/python3
"""mkbenchimage.py OUT.png [--shape star|disc|ring] [--size 512] [--background alpha|white]

Writes the benchmark's test picture: an icon-sized cut-out, SIZE x SIZE pixels,
a shape filled with a colour gradient on a transparent background (RGBA, with
an anti-aliased edge: drawn 4x larger and reduced), or on a white opaque
background with --background white (then the mask comes from the border).

  star  a five-pointed star with a round hole in the middle (default)
  disc  a disc of diameter 0.8 * SIZE (inflates to a sphere)
  ring  a disc with a hole of half its radius

Same arguments, same bytes: the picture is fully determined by its options.
"""
import argparse
import math
import sys

from PIL import Image, ImageDraw

SUPER = 4  # supersampling factor for the anti-aliased edge


def star_points(cx, cy, r_out, r_in, n=5):
    pts = []
    for i in range(2 * n):
        r = r_out if i % 2 == 0 else r_in
        a = -math.pi / 2 + i * math.pi / n
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def shape_mask(shape, size):
    big = size * SUPER
    m = Image.new("L", (big, big), 0)
    d = ImageDraw.Draw(m)
    c = big / 2
    if shape == "star":
        d.polygon(star_points(c, c * 1.04, 0.46 * big, 0.20 * big), fill=255)
        r = 0.07 * big
        d.ellipse((c - r, c * 1.04 - r, c + r, c * 1.04 + r), fill=0)
    elif shape == "disc":
        r = 0.4 * big
        d.ellipse((c - r, c - r, c + r, c + r), fill=255)
    elif shape == "ring":
        r = 0.4 * big
        d.ellipse((c - r, c - r, c + r, c + r), fill=255)
        r = 0.2 * big
        d.ellipse((c - r, c - r, c + r, c + r), fill=0)
    else:
        raise ValueError(shape)
    return m.resize((size, size), Image.LANCZOS)


def gradient(size):
    # red to blue across x, green rising along y: a texture with no flat area
    g = Image.new("RGB", (size, size))
    px = g.load()
    for y in range(size):
        for x in range(size):
            px[x, y] = (255 - 255 * x // size, 64 + 160 * y // size, 255 * x // size)
    return g


def main(argv):
    ap = argparse.ArgumentParser(description="write the benchmark cut-out image")
    ap.add_argument("out")
    ap.add_argument("--shape", choices=["star", "disc", "ring"], default="star")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--background", choices=["alpha", "white"], default="alpha")
    a = ap.parse_args(argv)
    if not 8 <= a.size <= 8192:
        ap.error("--size must be between 8 and 8192")
    alpha = shape_mask(a.shape, a.size)
    rgb = gradient(a.size)
    if a.background == "alpha":
        img = rgb.copy()
        img.putalpha(alpha)
    else:
        img = Image.composite(rgb, Image.new("RGB", rgb.size, (255, 255, 255)), alpha)
    img.save(a.out, format="PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
