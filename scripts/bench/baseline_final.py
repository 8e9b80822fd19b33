#!/usr/bin/python3
"""baseline_final.py IMAGE [--resolution 256] [--max-triangles 50000] [--smooth 10]
                        [--field-size 320] [--depth 1] [--solver cg|spsolve]
                        [--repeat 3] [--warmup 1] [--json] [--out MESH]
                        [--no-self-intersection]
   baseline_final.py --taubin-only MESH [--smooth 10] [--repeat 3] [--warmup 1] [--json] [--out MESH]
   baseline_final.py --decimate-only MESH [--max-triangles 50000] [--repeat 3] [--warmup 1] [--json] [--out MESH]

The Python anchor of the orfeas benchmarks for the final stage of
mesh-refine: the field and volume of baseline_rough.py (same code), then

  mc        skimage.measure.marching_cubes(level=0) at N = --resolution
  o3d_mesh  an Open3D TriangleMesh from the vertex and face arrays
  taubin    mesh.filter_smooth_taubin(number_of_iterations=--smooth,
            lambda_filter=0.5, mu=-0.53)
  decimate  mesh.simplify_quadric_decimation(target_number_of_triangles=
            --max-triangles)
  normals   mesh.compute_vertex_normals()

timed per step and in total (--warmup untimed runs, default 1, then the
median of --repeat runs). The
result is checked, outside the timed part, with Open3D's own tests and
reported as it comes out: closed (every edge in exactly two triangles),
edge_manifold, vertex_manifold, self_intersecting (and the number of
intersecting triangle pairs), and watertight as Open3D's is_watertight()
defines it (closed edge-manifold, vertex-manifold, not self-intersecting).
The raw marching-cubes mesh gets the cheap tests only (mt_closed, ...): the
self-intersection test takes minutes at 200k triangles.

The micro-anchors time one Open3D call on a mesh FILE that Open3D reads
(PLY, OBJ, STL, OFF, GLB): --taubin-only (filter_smooth_taubin alone) and
--decimate-only (simplify_quadric_decimation alone). Duplicate vertices (an
STL has one per corner) are merged before timing with
remove_duplicated_vertices(), so that the smoothing sees a connected mesh;
the record says how many vertices the file had and how many were timed.

--json prints one JSON object on one line:
  final:    {"pipeline":"python-skimage-scipy-open3d","stage":"final",
             "image":PATH,"resolution":N,"max_triangles":T,"smooth":K,
             "field_size":320,"solver":"cg","repeat":R,"warmup":W,"ms_median":TOTAL,
             "ms_runs":[...],"ms_steps":{"load":..,"mask":..,"field":..,
             "volume":..,"mc":..,"o3d_mesh":..,"taubin":..,"decimate":..,
             "normals":..},"grid":[nx,ny,nz],"mt_vertices":..,"mt_triangles":..,
             "mt_closed":B,"mt_edge_manifold":B,"mt_vertex_manifold":B,
             "vertices":..,"triangles":..,"closed":B,"edge_manifold":B,
             "vertex_manifold":B,"self_intersecting":B,
             "self_intersecting_pairs":K,"watertight":B,"versions":{...}}
            (the last three are null with --no-self-intersection)
  taubin:   {"pipeline":"python-open3d","op":"taubin","mesh":PATH,
             "iterations":K,"lambda":0.5,"mu":-0.53,"file_vertices":..,
             "vertices":..,"triangles":..,"repeat":R,"warmup":W,"ms_median":..,
             "ms_runs":[...],"versions":{...}}
  decimate: {"pipeline":"python-open3d","op":"decimate","mesh":PATH,
             "target_triangles":T,"file_vertices":..,"vertices":..,
             "triangles":..,"triangles_out":..,"vertices_out":..,"repeat":R,"warmup":W,
             "ms_median":..,"ms_runs":[...],"versions":{...}}

--out MESH writes the last result (any format Open3D writes, by extension).
Exit status: 0 done, 64 usage, 65 no foreground / empty mesh, 66 input
missing or unreadable, 69 a Python package is missing.
"""
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baseline_rough as rough  # noqa: E402  (exits 69 when numpy/scipy/skimage are missing)

try:
    import numpy as np
    import open3d as o3d
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write("baseline_final: %s (run scripts/bench/install-baseline-deps)\n" % exc)
    sys.exit(69)

LAMBDA, MU = 0.5, -0.53


def versions():
    v = rough.versions()
    v["open3d"] = o3d.__version__
    return v


def to_o3d(verts, faces):
    return o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(verts.astype(np.float64)),
                                     o3d.utility.Vector3iVector(faces.astype(np.int32)))


def final_once(path, a):
    t = {}
    t0 = time.perf_counter()
    rgba, has_alpha = rough.load_image(path)
    t1 = time.perf_counter(); t["load"] = t1 - t0
    mask = rough.make_mask(rgba, has_alpha)
    t2 = time.perf_counter(); t["mask"] = t2 - t1
    z_front, _inside, _unknowns, _residual = rough.inflate(mask, a.field_size, a.depth,
                                                           a.solver, a.tol)
    t3 = time.perf_counter(); t["field"] = t3 - t2
    volume, cell, origin = rough.sample_volume(z_front, a.resolution)
    t4 = time.perf_counter(); t["volume"] = t4 - t3
    verts, faces = rough.extract(volume, cell, origin)
    t5 = time.perf_counter(); t["mc"] = t5 - t4
    mesh = to_o3d(verts, faces)
    t6 = time.perf_counter(); t["o3d_mesh"] = t6 - t5
    mesh = mesh.filter_smooth_taubin(number_of_iterations=a.smooth,
                                     lambda_filter=LAMBDA, mu=MU)
    t7 = time.perf_counter(); t["taubin"] = t7 - t6
    mesh = mesh.simplify_quadric_decimation(target_number_of_triangles=a.max_triangles)
    t8 = time.perf_counter(); t["decimate"] = t8 - t7
    mesh.compute_vertex_normals()
    t9 = time.perf_counter(); t["normals"] = t9 - t8
    t["total"] = t9 - t0
    info = {"grid": list(volume.shape), "mt_vertices": int(len(verts)),
            "mt_triangles": int(len(faces))}
    return t, info, mesh, (verts, faces)


def topology(mesh, self_intersection=True):
    """Open3D's own checks, outside the timed part. closed: every edge is used
    by exactly two triangles (no boundary, no non-manifold edge). Open3D's
    is_watertight() is edge_manifold (no boundary) and vertex_manifold and
    not self_intersecting; it is computed here from those parts (the same
    test, run once). The self-intersection test is quadratic-ish: seconds on
    50k triangles, minutes on 200k, so it is skipped for the raw MC mesh and
    may be skipped with --no-self-intersection (then watertight is null)."""
    t = {"closed": len(mesh.get_non_manifold_edges(allow_boundary_edges=False)) == 0,
         "edge_manifold": bool(mesh.is_edge_manifold(allow_boundary_edges=True)),
         "vertex_manifold": bool(mesh.is_vertex_manifold())}
    if self_intersection:
        pairs = len(mesh.get_self_intersecting_triangles())
        t["self_intersecting"] = pairs > 0
        t["self_intersecting_pairs"] = pairs
        t["watertight"] = t["closed"] and t["vertex_manifold"] and pairs == 0
    else:
        t["self_intersecting"] = None
        t["self_intersecting_pairs"] = None
        t["watertight"] = None
    return t


def read_mesh(path, prog):
    if not os.path.isfile(path):
        sys.stderr.write("%s: %s: no such file\n" % (prog, path))
        sys.exit(66)
    mesh = o3d.io.read_triangle_mesh(path)
    if len(mesh.triangles) == 0:
        sys.stderr.write("%s: %s: no triangles read (not a mesh Open3D can read?)\n" % (prog, path))
        sys.exit(65)
    file_vertices = len(mesh.vertices)
    mesh.remove_duplicated_vertices()
    return mesh, file_vertices


def timed(fn, repeat, warmup):
    for _ in range(warmup):
        fn()
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return runs, out


def write_out(path, mesh, prog):
    if path and not o3d.io.write_triangle_mesh(path, mesh):
        sys.stderr.write("%s: %s: cannot write the mesh\n" % (prog, path))
        sys.exit(74)


def micro(a, prog):
    path = a.taubin_only or a.decimate_only
    mesh, file_vertices = read_mesh(path, prog)
    if a.taubin_only:
        runs, out = timed(lambda: mesh.filter_smooth_taubin(
            number_of_iterations=a.smooth, lambda_filter=LAMBDA, mu=MU), a.repeat, a.warmup)
        rec = {"pipeline": "python-open3d", "op": "taubin", "mesh": path,
               "iterations": a.smooth, "lambda": LAMBDA, "mu": MU}
    else:
        runs, out = timed(lambda: mesh.simplify_quadric_decimation(
            target_number_of_triangles=a.max_triangles), a.repeat, a.warmup)
        rec = {"pipeline": "python-open3d", "op": "decimate", "mesh": path,
               "target_triangles": a.max_triangles}
    rec.update({"file_vertices": file_vertices, "vertices": len(mesh.vertices),
                "triangles": len(mesh.triangles)})
    if a.decimate_only:
        rec.update({"triangles_out": len(out.triangles), "vertices_out": len(out.vertices)})
    rec.update({"repeat": a.repeat, "warmup": a.warmup,
                "ms_median": round(1000.0 * statistics.median(runs), 3),
                "ms_runs": [round(1000.0 * r, 3) for r in runs], "versions": versions()})
    write_out(a.out, out, prog)
    if a.json:
        print(json.dumps(rec))
    else:
        print("%s %s on %s (%d triangles): %.1f ms median of %d" % (
            rec["pipeline"], rec["op"], path, rec["triangles"], rec["ms_median"], a.repeat))
    return 0


def main(argv):
    prog = "baseline_final"
    ap = rough.Parser(prog="baseline_final.py",
                                 description="Python anchor: the final stage of orfeas, "
                                             "and Open3D smoothing / decimation alone")
    rough.add_field_options(ap, 256, 3, image_optional=True)
    ap.add_argument("--max-triangles", type=int, default=50000,
                    help="decimation target (default 50000)")
    ap.add_argument("--smooth", type=int, default=10,
                    help="Taubin iterations, lambda 0.5, mu -0.53 (default 10)")
    ap.add_argument("--out", metavar="MESH", help="write the resulting mesh there")
    ap.add_argument("--no-self-intersection", action="store_true",
                    help="skip Open3D's slow self-intersection test (watertight: null)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--taubin-only", metavar="MESH",
                   help="time Open3D's filter_smooth_taubin alone on MESH")
    g.add_argument("--decimate-only", metavar="MESH",
                   help="time Open3D's simplify_quadric_decimation alone on MESH")
    a = ap.parse_args(argv)
    if a.smooth < 0 or a.max_triangles < 1:
        ap.error("--smooth must be >= 0 and --max-triangles >= 1")
    if a.repeat < 1 or a.warmup < 0:
        ap.error("--repeat must be at least 1 and --warmup at least 0")
    if a.taubin_only or a.decimate_only:
        if a.image:
            ap.error("give either IMAGE or --taubin-only/--decimate-only MESH, not both")
        return micro(a, prog)
    if not a.image:
        ap.error("IMAGE is required (or --taubin-only/--decimate-only MESH)")
    rough.check_field_options(ap, a)

    runs = []
    for i in range(a.warmup + a.repeat):
        t, info, mesh, (verts, faces) = rough.run_guarded(final_once, a.image, a, prog)
        if i < a.warmup:
            continue
        runs.append(t)
    m = rough.medians(runs)
    total = m.pop("total")
    mt_mesh = to_o3d(verts, faces)
    mt_topo = topology(mt_mesh, self_intersection=False)
    topo = topology(mesh, self_intersection=not a.no_self_intersection)
    rec = {"pipeline": "python-skimage-scipy-open3d", "stage": "final", "image": a.image,
           "resolution": a.resolution, "max_triangles": a.max_triangles, "smooth": a.smooth,
           "field_size": a.field_size, "solver": a.solver, "repeat": a.repeat, "warmup": a.warmup,
           "ms_median": total, "ms_runs": [round(1000.0 * r["total"], 3) for r in runs],
           "ms_steps": m, "grid": info["grid"],
           "mt_vertices": info["mt_vertices"], "mt_triangles": info["mt_triangles"],
           "mt_closed": mt_topo["closed"], "mt_edge_manifold": mt_topo["edge_manifold"],
           "mt_vertex_manifold": mt_topo["vertex_manifold"],
           "vertices": len(mesh.vertices), "triangles": len(mesh.triangles)}
    rec.update(topo)
    rec["versions"] = versions()
    write_out(a.out, mesh, prog)
    if a.json:
        print(json.dumps(rec))
    else:
        print("%s final N=%d: %.1f ms median of %d (%s)  %d -> %d triangles, closed %s, "
              "self-intersecting pairs %s, watertight (Open3D) %s" % (
                  rec["pipeline"], a.resolution, total, a.repeat,
                  ", ".join("%s %.1f" % kv for kv in m.items()),
                  rec["mt_triangles"], rec["triangles"], rec["closed"],
                  rec["self_intersecting_pairs"], rec["watertight"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
