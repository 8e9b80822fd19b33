#!/usr/bin/env python3
"""keyreqs.py PROGRAM N SEED SOURCE... - N requests with random parameters for
PROGRAM (mesh-gen or mesh-refine), one JSON object a line, written the many
ways a user may write them: names in any case, numbers as 1, 1.0, 1e0 or with
more digits than a float holds, some out of range or of the wrong type. The
key test feeds them to `dedup-cache key` and to the program: every request
gets the same key from both, or is refused by both. SOURCE: images for
mesh-gen, meshes for mesh-refine."""
import json
import random
import sys

prog, n, seed, sources = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
rnd = random.Random(seed)


def casing(s):
    return rnd.choice([s, s.upper(), s.capitalize(), s])


def number(v):
    """v as a JSON number text in one of its spellings."""
    forms = [repr(v)]
    if float(v).is_integer():
        forms += [f"{int(v)}.0", f"{int(v)}e0", str(int(v))]
    else:
        forms += [f"{v:.12g}", f"{v:.17g}", f"{v:e}"]
    return rnd.choice(forms)


def real(lo, hi, bad_share=0.05):
    if rnd.random() < bad_share:
        return rnd.choice([lo - 1, hi * 10, '"deep"'])
    v = rnd.choice([round(rnd.uniform(lo, hi), rnd.randint(1, 9)), rnd.uniform(lo, hi),
                    1 / 3 * hi, lo, hi])
    return number(v)


def whole(lo, hi, bad_share=0.05):
    if rnd.random() < bad_share:
        return rnd.choice([str(lo - 1), str(hi + 1), f"{lo + 0.5}", '"8"'])
    return number(float(rnd.randint(lo, hi)))


def choice(names, bad_share=0.05):
    if rnd.random() < bad_share:
        return json.dumps(rnd.choice(["wobbly", "", "fbx"]))
    return json.dumps(casing(rnd.choice(names)))


def gen_fields():
    f = {}
    if rnd.random() < .5: f["mode"] = choice(["auto", "inflate", "extrude", "relief"])
    if rnd.random() < .3: f["mask"] = choice(["auto", "alpha", "border", "luma"])
    if rnd.random() < .5: f["depth"] = real(0.001, 100)
    if rnd.random() < .3: f["back"] = choice(["mirror", "flat"])
    if rnd.random() < .3: f["thickness"] = real(0.0001, 10)
    if rnd.random() < .3: f["invert"] = rnd.choice(["true", "false"])
    if rnd.random() < .3: f["base"] = real(0, 10)
    if rnd.random() < .4: f["format"] = choice(["glb", "obj", "ply", "stl"])
    r = rnd.random()
    if r < .3:
        f["resolution"] = whole(8, 20)
    elif r < .6:
        f["resolution"] = '{"voxel":%s,"rough":%s}' % (whole(8, 16, 0), whole(8, 20, 0))
    else:
        f["resolution"] = '{"voxel":8,"rough":12}'  # keep the work small
    return f


def refine_fields():
    f = {"refined_resolution": whole(8, 16), "resolution": whole(8, 20)}
    if rnd.random() < .5: f["smooth"] = whole(0, 5)
    if rnd.random() < .5: f["max_triangles"] = whole(50, 2000)
    if rnd.random() < .3: f["max_error"] = real(0.0001, 0.01)
    if rnd.random() < .4: f["format"] = choice(["glb", "obj", "ply", "stl"])
    if rnd.random() < .3: f["weld"] = real(0, 0.001)
    if rnd.random() < .3: f["floaters"] = real(0, 0.5)
    if rnd.random() < .3: f["fill_holes"] = whole(0, 50)
    if rnd.random() < .3: f["stage"] = choice(["refined", "final"])
    return f


for i in range(n):
    fields = gen_fields() if prog == "mesh-gen" else refine_fields()
    src = json.dumps(rnd.choice(sources))
    parts = ['"%s":%s' % ("image" if prog == "mesh-gen" else "mesh", src), '"id":%d' % i]
    parts += ['"%s":%s' % kv for kv in fields.items()]
    print("{" + ",".join(parts) + "}")
