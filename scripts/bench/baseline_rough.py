#!/usr/bin/python3
"""baseline_rough.py IMAGE [--resolution 96] [--field-size 320] [--depth 1]
                        [--solver cg|spsolve] [--tol 1e-6] [--repeat 5] [--warmup 1]
                        [--json]

The Python anchor of the orfeas benchmarks for the rough stage of mesh-gen:
the same steps as docs/design.md "The pipeline" 1-5, done the obvious way
with Debian's NumPy, SciPy, scikit-image and Pillow (install them with
scripts/bench/install-baseline-deps):

  load    Pillow decodes the image into an RGBA array
  mask    alpha > 127 when a real share (>= 1%) of the pixels is transparent;
          otherwise the background is the border colour, flood-filled inward
          (skimage.segmentation.flood) within a colour tolerance
  field   the mask reduced so its longest side is --field-size pixels (320,
          the working size orfeas uses), then the inflation of Baran &
          Lehtinen: lap(h) = -4 inside, h = 0 outside, as a 5-point sparse
          Laplacian over the interior pixels solved with scipy.sparse.linalg
          (conjugate gradients to a relative residual of --tol by default,
          or the direct sparse LU with --solver spsolve);
          z = depth * sqrt(h), in mesh units (longest image side = 1)
  volume  f(x,y,z) = z_front(x,y) - |z| on a grid whose longest side has N
          cells (one cell of margin all round), z_front sampled bilinearly
          with scipy.ndimage.map_coordinates; outside the mask z_front is
          minus the distance to the mask, so f is continuous across the rim
  mc      skimage.measure.marching_cubes(level=0)

Each step is timed with time.perf_counter; --warmup untimed runs (default
1), then --repeat runs; the medians are printed (ms), per step and in total. With --json, one
JSON object on one line:

  {"pipeline":"python-skimage-scipy","stage":"rough","image":PATH,
   "resolution":N,"field_size":320,"solver":"cg","repeat":5,"warmup":1,
   "ms_median":TOTAL,"ms_runs":[...],"ms_steps":{"load":..,"mask":..,
   "field":..,"volume":..,"mc":..},"grid":[nx,ny,nz],"unknowns":K,
   "residual":R,"vertices":V,"triangles":T,"versions":{...}}

Exit status: 0 done, 64 usage, 66 image missing or unreadable, 69 a
Python package is missing, 65 the image has no foreground.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import numpy as np
    import scipy
    import scipy.ndimage as ndi
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla
    import skimage
    import skimage.measure
    import skimage.segmentation
    import skimage.transform
    from PIL import Image
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write("baseline_rough: %s (run scripts/bench/install-baseline-deps)\n" % exc)
    sys.exit(69)

PIPELINE = "python-skimage-scipy"
ALPHA_SHARE = 0.01      # share of transparent pixels that makes an "alpha image"
BORDER_TOLERANCE = 24.0  # RGB distance to the border colour still counted as background


class NoForeground(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse with the orfeas usage status: 64, not 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(64, "%s: error: %s\n" % (self.prog, message))


def versions():
    import PIL
    return {"python": "%d.%d.%d" % sys.version_info[:3], "numpy": np.__version__,
            "scipy": scipy.__version__, "skimage": skimage.__version__,
            "pillow": PIL.__version__}


# 1. image -----------------------------------------------------------------
def load_image(path):
    with Image.open(path) as im:
        has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
        rgba = np.asarray(im.convert("RGBA"))
    return rgba, has_alpha


# 2. mask ------------------------------------------------------------------
def make_mask(rgba, has_alpha):
    """Boolean foreground mask (rows, cols)."""
    alpha = rgba[:, :, 3]
    if has_alpha and np.count_nonzero(alpha <= 127) >= ALPHA_SHARE * alpha.size:
        mask = alpha > 127
    else:
        rgb = rgba[:, :, :3].astype(np.float32)
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        colour = np.median(border, axis=0)
        dist = np.sqrt(((rgb - colour) ** 2).sum(axis=2))
        # a frame of zero distance joins every border pixel into one seed region
        framed = np.pad(dist, 1, mode="constant", constant_values=0.0)
        background = skimage.segmentation.flood(framed, (0, 0), tolerance=BORDER_TOLERANCE)
        mask = ~background[1:-1, 1:-1]
    if not mask.any():
        raise NoForeground("no foreground")
    return mask


# 3. field -----------------------------------------------------------------
def working_mask(mask, field_size):
    rows, cols = mask.shape
    scale = field_size / max(rows, cols)
    shape = (max(1, round(rows * scale)), max(1, round(cols * scale)))
    small = skimage.transform.resize(mask.astype(np.float32), shape, order=1,
                                     anti_aliasing=True, preserve_range=True)
    return small > 0.5


def laplacian(inside):
    """5-point -Laplacian (pixel spacing 1) over the True pixels, h = 0 elsewhere."""
    rows, cols = inside.shape
    index = -np.ones(inside.shape, dtype=np.int64)
    ys, xs = np.nonzero(inside)
    n = ys.size
    index[ys, xs] = np.arange(n)
    padded = np.pad(index, 1, mode="constant", constant_values=-1)
    r_idx = [np.arange(n)]
    c_idx = [np.arange(n)]
    vals = [np.full(n, 4.0)]
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nb = padded[ys + 1 + dy, xs + 1 + dx]
        ok = nb >= 0
        r_idx.append(np.nonzero(ok)[0])
        c_idx.append(nb[ok])
        vals.append(np.full(np.count_nonzero(ok), -1.0))
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(r_idx), np.concatenate(c_idx))),
                      shape=(n, n))
    return A, ys, xs


def solve(A, b, solver, tol):
    if solver == "spsolve":
        x = spla.spsolve(A.tocsc(), b)
    else:
        try:
            x, info = spla.cg(A, b, rtol=tol, atol=0.0, maxiter=20000)
        except TypeError:  # SciPy < 1.12 calls it tol
            x, info = spla.cg(A, b, tol=tol, atol=0.0, maxiter=20000)
        if info != 0:
            raise RuntimeError("cg did not converge (info %d)" % info)
    return x


def inflate(mask, field_size, depth, solver, tol):
    """Returns (z_front in mesh units over the working grid, working mask,
    unknowns, relative residual). Outside the mask z_front is minus the
    distance to it, so the volume is continuous across the rim."""
    inside = working_mask(mask, field_size)
    A, ys, xs = laplacian(inside)
    b = np.full(ys.size, 4.0)
    h = solve(A, b, solver, tol)
    residual = float(np.linalg.norm(b - A @ h) / np.linalg.norm(b))
    unit = 1.0 / max(inside.shape)          # mesh units per working pixel
    z = np.zeros(inside.shape, dtype=np.float32)
    z[ys, xs] = depth * np.sqrt(np.maximum(h, 0.0)) * unit
    outside = ndi.distance_transform_edt(~inside).astype(np.float32)
    z -= outside * unit
    return z, inside, int(ys.size), residual


# 4. volume ----------------------------------------------------------------
def sample_volume(z_front, resolution):
    """f(x,y,z) = z_front(x,y) - |z| on a grid whose longest image side has
    `resolution` cells, with one cell of margin; returns (volume[x,y,z] float32,
    spacing, origin) in mesh units."""
    rows, cols = z_front.shape
    longest = max(rows, cols)
    cell = 1.0 / resolution
    half_w, half_h = 0.5 * cols / longest, 0.5 * rows / longest
    zmax = float(max(z_front.max(), 0.0))
    nx = int(np.ceil(2 * half_w / cell)) + 3
    ny = int(np.ceil(2 * half_h / cell)) + 3
    nz = int(np.ceil(2 * zmax / cell)) + 3
    x0, y0, z0 = -(nx - 1) * cell / 2, -(ny - 1) * cell / 2, -(nz - 1) * cell / 2
    xs = x0 + cell * np.arange(nx)
    ys = y0 + cell * np.arange(ny)
    zs = z0 + cell * np.arange(nz)
    # mesh (x, y) -> working pixel (col, row); +y is up, rows go down
    col = (xs + half_w) * longest - 0.5
    row = (half_h - ys) * longest - 0.5
    R, C = np.meshgrid(row, col)  # shape (nx, ny)
    front = ndi.map_coordinates(z_front, [R, C], order=1, mode="nearest")
    # outside the picture keep the distance growing so the border is closed
    beyond = np.maximum(np.maximum(np.abs(xs)[:, None] - half_w, np.abs(ys)[None, :] - half_h), 0)
    front = front - beyond
    volume = front[:, :, None].astype(np.float32) - np.abs(zs).astype(np.float32)[None, None, :]
    return volume, cell, (x0, y0, z0)


# 5. marching cubes --------------------------------------------------------
def extract(volume, cell, origin):
    verts, faces, _normals, _values = skimage.measure.marching_cubes(
        volume, level=0.0, spacing=(cell, cell, cell))
    verts += np.asarray(origin, dtype=verts.dtype)
    return verts, faces


def rough_once(path, a):
    t = {}
    t0 = time.perf_counter()
    rgba, has_alpha = load_image(path)
    t1 = time.perf_counter(); t["load"] = t1 - t0
    mask = make_mask(rgba, has_alpha)
    t2 = time.perf_counter(); t["mask"] = t2 - t1
    z_front, _inside, unknowns, residual = inflate(mask, a.field_size, a.depth, a.solver, a.tol)
    t3 = time.perf_counter(); t["field"] = t3 - t2
    volume, cell, origin = sample_volume(z_front, a.resolution)
    t4 = time.perf_counter(); t["volume"] = t4 - t3
    verts, faces = extract(volume, cell, origin)
    t5 = time.perf_counter(); t["mc"] = t5 - t4
    t["total"] = t5 - t0
    info = {"grid": list(volume.shape), "unknowns": unknowns, "residual": residual}
    return t, info, verts, faces


def medians(runs):
    keys = runs[0].keys()
    return {k: round(1000.0 * statistics.median(r[k] for r in runs), 3) for k in keys}


def add_field_options(ap, resolution, repeat, image_optional=False):
    if image_optional:
        ap.add_argument("image", nargs="?")
    else:
        ap.add_argument("image")
    ap.add_argument("--resolution", type=int, default=resolution,
                    help="cells along the longest side (default %d)" % resolution)
    ap.add_argument("--field-size", type=int, default=320,
                    help="longest side of the working grid of the field, pixels (default 320)")
    ap.add_argument("--depth", type=float, default=1.0, help="inflation depth (default 1)")
    ap.add_argument("--solver", choices=["cg", "spsolve"], default="cg",
                    help="sparse solver for the field (default cg)")
    ap.add_argument("--tol", type=float, default=1e-6,
                    help="relative residual for cg (default 1e-6)")
    ap.add_argument("--repeat", type=int, default=repeat,
                    help="timed runs after one warm-up (default %d)" % repeat)
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed runs first (default 1; 0 for none)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")


def check_field_options(ap, a):
    if not 2 <= a.resolution <= 1024:
        ap.error("--resolution must be between 2 and 1024")
    if not 8 <= a.field_size <= 4096:
        ap.error("--field-size must be between 8 and 4096")
    if a.repeat < 1 or a.warmup < 0:
        ap.error("--repeat must be at least 1 and --warmup at least 0")
    if not a.depth > 0:
        ap.error("--depth must be positive")
    if not os.path.isfile(a.image):
        sys.stderr.write("baseline: %s: no such file\n" % a.image)
        sys.exit(66)


def run_guarded(fn, path, a, prog):
    try:
        return fn(path, a)
    except NoForeground:
        sys.stderr.write("%s: %s: no foreground in the image\n" % (prog, path))
        sys.exit(65)
    except (OSError, ValueError, SyntaxError) as exc:
        sys.stderr.write("%s: %s: cannot read the image: %s\n" % (prog, path, exc))
        sys.exit(66)


def main(argv):
    ap = Parser(prog="baseline_rough.py",
                                 description="Python anchor: the rough stage of orfeas")
    add_field_options(ap, 96, 5)
    a = ap.parse_args(argv)
    check_field_options(ap, a)

    runs = []
    for i in range(a.warmup + a.repeat):
        t, info, verts, faces = run_guarded(rough_once, a.image, a, "baseline_rough")
        if i < a.warmup:
            continue
        runs.append(t)
    m = medians(runs)
    total = m.pop("total")
    rec = {"pipeline": PIPELINE, "stage": "rough", "image": a.image,
           "resolution": a.resolution, "field_size": a.field_size, "solver": a.solver,
           "repeat": a.repeat, "warmup": a.warmup, "ms_median": total,
           "ms_runs": [round(1000.0 * r["total"], 3) for r in runs],
           "ms_steps": m, "grid": info["grid"], "unknowns": info["unknowns"],
           "residual": info["residual"], "vertices": int(len(verts)),
           "triangles": int(len(faces)), "versions": versions()}
    if a.json:
        print(json.dumps(rec))
    else:
        print("%s rough N=%d: %.1f ms median of %d (%s)  %d vertices, %d triangles" % (
            PIPELINE, a.resolution, total, a.repeat,
            ", ".join("%s %.1f" % kv for kv in m.items()), rec["vertices"], rec["triangles"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
