#!/usr/bin/python3
"""o3dcheck - Open3D's opinion of a mesh, as one JSON line per file: the
independent implementation the geometry tests hold our "watertight" to.

    o3dcheck [--direct] MESH...

Prints {"file", "triangles", "vertices", "edge_manifold", "vertex_manifold",
"self_intersecting_pairs", "watertight", "volume"} per file. Open3D's own
triangle-pair test (TriangleMesh.get_self_intersecting_triangles, the one
its is_watertight uses) compares every pair: quadratic, minutes on a rough
mesh. So the pairs are asked of it tile by tile: each triangle goes to every
tile of a regular grid its bounding box touches (about 300 triangles a
tile), Open3D tests each tile's triangles (with the whole vertex array, so
triangles sharing a vertex are still skipped as Open3D skips them), and the
pairs are merged. Two triangles that meet share a point, which lies in a
tile both their boxes touch, so no pair Open3D would report is missed.
"watertight" is Open3D's definition from these parts: edge-manifold without
boundary, vertex-manifold, no self-intersecting pair. With --direct,
"o3d_is_watertight" is also Open3D's is_watertight() called on the whole
mesh (use it on small meshes only). "volume" is the signed volume (numpy).

Needs the Debian package python3-open3d and Debian's /usr/bin/python3.
"""
import json
import sys

import numpy as np
import open3d as o3d


def self_pairs(V, T):
    if len(T) == 0:
        return set()
    tiles = max(1, int((len(T) / 300) ** 0.5))
    lo = V.min(0)
    size = (V.max(0) - lo) / tiles
    size[size == 0] = 1
    tmin = V[T].min(1)
    tmax = V[T].max(1)
    a = np.clip(((tmin - lo) / size).astype(int), 0, tiles - 1)
    b = np.clip(((tmax - lo) / size).astype(int), 0, tiles - 1)
    buckets = {}
    for t in range(len(T)):
        for i in range(a[t, 0], b[t, 0] + 1):
            for j in range(a[t, 1], b[t, 1] + 1):
                for k in range(a[t, 2], b[t, 2] + 1):
                    buckets.setdefault((i, j, k), []).append(t)
    vv = o3d.utility.Vector3dVector(V)
    pairs = set()
    for ts in buckets.values():
        if len(ts) < 2:
            continue
        ts = np.array(ts)
        sub = o3d.geometry.TriangleMesh(vv, o3d.utility.Vector3iVector(T[ts]))
        for p, q in np.asarray(sub.get_self_intersecting_triangles()):
            x, y = sorted((int(ts[p]), int(ts[q])))
            pairs.add((x, y))
    return pairs


def main(argv):
    direct = "--direct" in argv
    files = [a for a in argv if a != "--direct"]
    if not files:
        print("usage: o3dcheck [--direct] MESH...", file=sys.stderr)
        return 64
    for f in files:
        m = o3d.io.read_triangle_mesh(f)
        V = np.asarray(m.vertices)
        T = np.asarray(m.triangles)
        out = {"file": f, "triangles": int(len(T)), "vertices": int(len(V))}
        if len(T) == 0:
            print(f"o3dcheck: {f}: no triangles read", file=sys.stderr)
            return 66
        out["edge_manifold"] = bool(m.is_edge_manifold(allow_boundary_edges=False))
        out["vertex_manifold"] = bool(m.is_vertex_manifold())
        out["self_intersecting_pairs"] = len(self_pairs(V, T))
        out["watertight"] = (out["edge_manifold"] and out["vertex_manifold"]
                             and out["self_intersecting_pairs"] == 0)
        a, b, c = V[T[:, 0]], V[T[:, 1]], V[T[:, 2]]
        out["volume"] = float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6)
        if direct:
            out["o3d_is_watertight"] = bool(m.is_watertight())
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
