/* meshio_glb.c - glTF 2.0 binary (GLB), reading and writing.
 *
 * Writing: one mesh, one primitive, one node; POSITION (with min/max),
 * NORMAL (normalised), TEXCOORD_0, COLOR_0 (normalised UNSIGNED_BYTE vec4),
 * uint32 indices; every buffer view 4-byte aligned; the JSON chunk padded
 * with spaces, BIN with zeros. With UVs and a texture, the texture is
 * embedded as PNG behind a sampler, a texture and a material's
 * baseColorTexture. Written to pass the Khronos validator with no warning.
 *
 * Reading: every triangle primitive (mode 4 or absent) of every mesh
 * reached from the default scene's nodes with their transforms (or of every
 * mesh when there is no scene), any index component type, non-indexed
 * primitives, strided accessors, and the base colour texture when it is an
 * embedded PNG or JPEG. Sparse accessors and external buffers are refused.
 */
#include "alloc.h"
#include "imageio.h"
#include "meshio_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define GLB_MAGIC 0x46546C67u
#define CHUNK_JSON 0x4E4F534Au
#define CHUNK_BIN 0x004E4942u

enum { CT_I8 = 5120, CT_U8 = 5121, CT_I16 = 5122, CT_U16 = 5123, CT_U32 = 5125, CT_F32 = 5126 };

/* ---- writing ----------------------------------------------------------- */

static int add_view(cJSON *views, size_t offset, size_t length, int target)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "buffer", 0);
    cJSON_AddNumberToObject(v, "byteOffset", (double)offset);
    cJSON_AddNumberToObject(v, "byteLength", (double)length);
    if (target)
        cJSON_AddNumberToObject(v, "target", target);
    cJSON_AddItemToArray(views, v);
    return cJSON_GetArraySize(views) - 1;
}

static cJSON *add_accessor(cJSON *accs, int view, int ctype, uint32_t count, const char *type, int normalized)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "bufferView", view);
    cJSON_AddNumberToObject(a, "componentType", ctype);
    if (normalized)
        cJSON_AddTrueToObject(a, "normalized");
    cJSON_AddNumberToObject(a, "count", count);
    cJSON_AddStringToObject(a, "type", type);
    cJSON_AddItemToArray(accs, a);
    return a;
}

int meshio_write_glb(const orf_mesh *m, mio_buf *out, orf_err *e)
{
    cJSON *root = cJSON_CreateObject();
    mio_buf bin = {0};
    uint8_t *png = NULL;
    size_t png_n = 0;
    int rc = -1;
    if (!root)
        return orf_fail(e, "too_large", "out of memory while writing GLB");
    cJSON *asset = cJSON_AddObjectToObject(root, "asset");
    cJSON_AddStringToObject(asset, "version", "2.0");
    cJSON_AddStringToObject(asset, "generator", "orfeas");
    cJSON_AddNumberToObject(root, "scene", 0);
    cJSON *scenes = cJSON_AddArrayToObject(root, "scenes");
    cJSON *scene = cJSON_CreateObject();
    cJSON_AddItemToArray(scenes, scene);
    int textured = m->uv && m->texture.w > 0 && m->texture.h > 0 && m->texture.rgba;
    if (m->nverts > 0 && m->ntris > 0) {
        cJSON *snodes = cJSON_AddArrayToObject(scene, "nodes");
        cJSON_AddItemToArray(snodes, cJSON_CreateNumber(0));
        cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
        cJSON *node = cJSON_CreateObject();
        cJSON_AddNumberToObject(node, "mesh", 0);
        cJSON_AddItemToArray(nodes, node);
        cJSON *views = cJSON_AddArrayToObject(root, "bufferViews");
        cJSON *accs = cJSON_AddArrayToObject(root, "accessors");
        cJSON *attrs = cJSON_CreateObject();
        size_t nv = m->nverts;

        /* POSITION with exact min/max */
        float lo[3], hi[3];
        mesh_bbox(m, lo, hi);
        size_t off = bin.n;
        mio_put_u32le_array(&bin, m->pos, nv * 3);
        cJSON *a = add_accessor(accs, add_view(views, off, nv * 12, 34962), CT_F32, m->nverts, "VEC3", 0);
        double dlo[3] = {lo[0], lo[1], lo[2]}, dhi[3] = {hi[0], hi[1], hi[2]};
        cJSON_AddItemToObject(a, "min", cJSON_CreateDoubleArray(dlo, 3));
        cJSON_AddItemToObject(a, "max", cJSON_CreateDoubleArray(dhi, 3));
        cJSON_AddNumberToObject(attrs, "POSITION", cJSON_GetArraySize(accs) - 1);

        if (m->nrm) {
            off = bin.n;
            for (size_t i = 0; i < nv; i++) {
                const float *p = m->nrm + 3 * i;
                double len = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
                float q[3] = {0, 0, 1};
                if (len > 1e-12 && isfinite(len))
                    for (int k = 0; k < 3; k++)
                        q[k] = (float)(p[k] / len);
                for (int k = 0; k < 3; k++)
                    mio_put_f32le(&bin, q[k]);
            }
            add_accessor(accs, add_view(views, off, nv * 12, 34962), CT_F32, m->nverts, "VEC3", 0);
            cJSON_AddNumberToObject(attrs, "NORMAL", cJSON_GetArraySize(accs) - 1);
        }
        if (m->uv) {
            off = bin.n;
            mio_put_u32le_array(&bin, m->uv, nv * 2);
            add_accessor(accs, add_view(views, off, nv * 8, 34962), CT_F32, m->nverts, "VEC2", 0);
            cJSON_AddNumberToObject(attrs, "TEXCOORD_0", cJSON_GetArraySize(accs) - 1);
        }
        if (m->col) {
            off = bin.n;
            mio_put(&bin, m->col, nv * 4);
            add_accessor(accs, add_view(views, off, nv * 4, 34962), CT_U8, m->nverts, "VEC4", 1);
            cJSON_AddNumberToObject(attrs, "COLOR_0", cJSON_GetArraySize(accs) - 1);
        }
        off = bin.n;
        mio_put_u32le_array(&bin, m->idx, (size_t)m->ntris * 3);
        add_accessor(accs, add_view(views, off, (size_t)m->ntris * 12, 34963), CT_U32, m->ntris * 3, "SCALAR", 0);
        int idx_acc = cJSON_GetArraySize(accs) - 1;

        cJSON *materials = cJSON_AddArrayToObject(root, "materials");
        cJSON *mat = cJSON_CreateObject();
        cJSON_AddItemToArray(materials, mat);
        cJSON_AddStringToObject(mat, "name", textured ? "textured" : "plain");
        cJSON *pbr = cJSON_AddObjectToObject(mat, "pbrMetallicRoughness");
        cJSON_AddNumberToObject(pbr, "metallicFactor", 0);
        if (textured) {
            if (image_encode_png(&m->texture, &png, &png_n, e))
                goto out;
            off = bin.n;
            mio_put(&bin, png, png_n);
            while (bin.n % 4)
                mio_put_u8(&bin, 0);
            cJSON *images = cJSON_AddArrayToObject(root, "images");
            cJSON *img = cJSON_CreateObject();
            cJSON_AddNumberToObject(img, "bufferView", add_view(views, off, png_n, 0));
            cJSON_AddStringToObject(img, "mimeType", "image/png");
            cJSON_AddItemToArray(images, img);
            cJSON *samplers = cJSON_AddArrayToObject(root, "samplers");
            cJSON *smp = cJSON_CreateObject();
            cJSON_AddNumberToObject(smp, "magFilter", 9729);
            cJSON_AddNumberToObject(smp, "minFilter", 9987);
            cJSON_AddNumberToObject(smp, "wrapS", 33071);
            cJSON_AddNumberToObject(smp, "wrapT", 33071);
            cJSON_AddItemToArray(samplers, smp);
            cJSON *textures = cJSON_AddArrayToObject(root, "textures");
            cJSON *tex = cJSON_CreateObject();
            cJSON_AddNumberToObject(tex, "sampler", 0);
            cJSON_AddNumberToObject(tex, "source", 0);
            cJSON_AddItemToArray(textures, tex);
            cJSON *bct = cJSON_AddObjectToObject(pbr, "baseColorTexture");
            cJSON_AddNumberToObject(bct, "index", 0);
        }

        cJSON *meshes = cJSON_AddArrayToObject(root, "meshes");
        cJSON *mesh = cJSON_CreateObject();
        cJSON_AddItemToArray(meshes, mesh);
        cJSON *prims = cJSON_AddArrayToObject(mesh, "primitives");
        cJSON *prim = cJSON_CreateObject();
        cJSON_AddItemToArray(prims, prim);
        cJSON_AddItemToObject(prim, "attributes", attrs);
        cJSON_AddNumberToObject(prim, "indices", idx_acc);
        cJSON_AddNumberToObject(prim, "material", 0);
        cJSON_AddNumberToObject(prim, "mode", 4);

        cJSON *buffers = cJSON_AddArrayToObject(root, "buffers");
        cJSON *buf = cJSON_CreateObject();
        cJSON_AddNumberToObject(buf, "byteLength", (double)bin.n);
        cJSON_AddItemToArray(buffers, buf);
    }
    if (bin.failed) {
        orf_fail(e, "too_large", "out of memory while writing GLB");
        goto out;
    }
    char *json = cJSON_PrintUnformatted(root);
    if (!json) {
        orf_fail(e, "too_large", "out of memory while writing GLB");
        goto out;
    }
    size_t jlen = strlen(json), jpad = (4 - jlen % 4) % 4;
    size_t blen = bin.n, bpad = (4 - blen % 4) % 4;
    uint64_t total = 12 + 8 + (uint64_t)jlen + jpad + (blen ? 8 + (uint64_t)blen + bpad : 0);
    if (total > UINT32_MAX) {
        free(json);
        orf_fail(e, "too_large", "mesh too large for GLB (%llu bytes, the limit is 4 GiB)",
                 (unsigned long long)total);
        goto out;
    }
    mio_put_u32le(out, GLB_MAGIC);
    mio_put_u32le(out, 2);
    mio_put_u32le(out, (uint32_t)total);
    mio_put_u32le(out, (uint32_t)(jlen + jpad));
    mio_put_u32le(out, CHUNK_JSON);
    mio_put(out, json, jlen);
    mio_put(out, "   ", jpad);
    free(json);
    if (blen) {
        mio_put_u32le(out, (uint32_t)(blen + bpad));
        mio_put_u32le(out, CHUNK_BIN);
        mio_put(out, bin.p, blen);
        mio_put(out, "\0\0\0", bpad);
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(bin.p);
    free(png);
    return rc;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct glb_ctx {
    const cJSON *root;
    const uint8_t *bin;
    size_t bin_n;
    const char *name;
    orf_err *e;
} glb_ctx;

typedef struct glb_acc {
    const uint8_t *base;
    size_t stride;
    uint32_t count;
    int ctype, ncomp, normalized;
} glb_acc;

typedef struct glb_inst {
    uint32_t mesh;
    double mat[16]; /* column-major */
} glb_inst;

/* Optional non-negative integer member: 1 present (in *out), 0 absent, -1 malformed. */
static int j_uint(const cJSON *o, const char *key, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740991.0 || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 1;
}

/* Item `index` of the top-level array `key`, or NULL (with the error filled). */
static const cJSON *j_item(glb_ctx *c, const char *key, uint64_t index)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c->root, key);
    if (!cJSON_IsArray(arr) || index >= (uint64_t)cJSON_GetArraySize(arr)) {
        orf_fail(c->e, "bad_mesh", "%s: glTF refers to %s[%llu], which does not exist", c->name, key,
                 (unsigned long long)index);
        return NULL;
    }
    const cJSON *it = cJSON_GetArrayItem(arr, (int)index);
    if (!cJSON_IsObject(it)) {
        orf_fail(c->e, "bad_mesh", "%s: glTF %s[%llu] is not an object", c->name, key, (unsigned long long)index);
        return NULL;
    }
    return it;
}

static size_t ctype_size(int ct)
{
    switch (ct) {
    case CT_I8:
    case CT_U8: return 1;
    case CT_I16:
    case CT_U16: return 2;
    case CT_U32:
    case CT_F32: return 4;
    default: return 0;
    }
}

/* The bytes of bufferView `vi`: *data, *len, and its byteStride (0 when absent). */
static int get_view(glb_ctx *c, uint64_t vi, const uint8_t **data, size_t *len, uint64_t *stride)
{
    const cJSON *v = j_item(c, "bufferViews", vi);
    if (!v)
        return -1;
    uint64_t buf = 0, off = 0, blen = 0, bylen = 0;
    *stride = 0;
    if (j_uint(v, "buffer", &buf) != 1 || j_uint(v, "byteOffset", &off) < 0 || j_uint(v, "byteLength", &blen) != 1 ||
        j_uint(v, "byteStride", stride) < 0)
        return orf_fail(c->e, "bad_mesh", "%s: glTF bufferViews[%llu] is malformed", c->name, (unsigned long long)vi);
    const cJSON *b = j_item(c, "buffers", buf);
    if (!b)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(b, "uri"))
        return orf_fail(c->e, "bad_mesh", "%s: glTF buffers[%llu] is external (uri); only the GLB BIN chunk is read",
                        c->name, (unsigned long long)buf);
    if (j_uint(b, "byteLength", &bylen) != 1 || bylen > c->bin_n)
        return orf_fail(c->e, "bad_mesh", "%s: glTF buffers[%llu] declares %llu bytes but the BIN chunk has %zu",
                        c->name, (unsigned long long)buf, (unsigned long long)bylen, c->bin_n);
    if (off > bylen || blen > bylen - off)
        return orf_fail(c->e, "bad_mesh",
                        "%s: glTF bufferViews[%llu] (offset %llu, length %llu) runs past its buffer of %llu bytes",
                        c->name, (unsigned long long)vi, (unsigned long long)off, (unsigned long long)blen,
                        (unsigned long long)bylen);
    *data = c->bin + off;
    *len = (size_t)blen;
    return 0;
}

static int get_accessor(glb_ctx *c, uint64_t ai, glb_acc *a)
{
    const cJSON *o = j_item(c, "accessors", ai);
    if (!o)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(o, "sparse"))
        return orf_fail(c->e, "bad_mesh", "%s: glTF accessors[%llu] is sparse, which is not supported", c->name,
                        (unsigned long long)ai);
    uint64_t view = 0, off = 0, count = 0, ct = 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(o, "normalized");
    if (j_uint(o, "byteOffset", &off) < 0 || j_uint(o, "count", &count) != 1 ||
        j_uint(o, "componentType", &ct) != 1 || !cJSON_IsString(type) || count == 0 || count > UINT32_MAX)
        return orf_fail(c->e, "bad_mesh", "%s: glTF accessors[%llu] is malformed", c->name, (unsigned long long)ai);
    int rv = j_uint(o, "bufferView", &view);
    if (rv != 1)
        return orf_fail(c->e, "bad_mesh", "%s: glTF accessors[%llu] has %s bufferView", c->name,
                        (unsigned long long)ai, rv ? "a malformed" : "no");
    const char *t = type->valuestring;
    a->ncomp = !strcmp(t, "SCALAR") ? 1 : !strcmp(t, "VEC2") ? 2 : !strcmp(t, "VEC3") ? 3 : !strcmp(t, "VEC4") ? 4 : 0;
    a->ctype = (int)ct;
    a->normalized = cJSON_IsTrue(norm);
    size_t cs = ctype_size(a->ctype);
    if (!a->ncomp || !cs)
        return orf_fail(c->e, "bad_mesh", "%s: glTF accessors[%llu] has an unsupported type %s / %llu", c->name,
                        (unsigned long long)ai, t, (unsigned long long)ct);
    const uint8_t *data;
    size_t len;
    uint64_t stride;
    if (get_view(c, view, &data, &len, &stride))
        return -1;
    uint64_t elem = cs * (uint64_t)a->ncomp;
    if (stride == 0)
        stride = elem;
    if (stride < elem || stride > 252)
        return orf_fail(c->e, "bad_mesh", "%s: glTF bufferViews[%llu] has byteStride %llu for %llu-byte elements",
                        c->name, (unsigned long long)view, (unsigned long long)stride, (unsigned long long)elem);
    uint64_t need = off + stride * (count - 1) + elem;
    if (off > len || need > len)
        return orf_fail(c->e, "bad_mesh",
                        "%s: glTF accessors[%llu] needs %llu bytes but its bufferView has %zu", c->name,
                        (unsigned long long)ai, (unsigned long long)need, len);
    a->base = data + off;
    a->stride = (size_t)stride;
    a->count = (uint32_t)count;
    return 0;
}

/* Component k of element i as a double (normalised integers mapped to [0,1] / [-1,1]). */
static double acc_get(const glb_acc *a, uint32_t i, int k)
{
    const uint8_t *p = a->base + (size_t)i * a->stride + ctype_size(a->ctype) * (size_t)k;
    switch (a->ctype) {
    case CT_I8: {
        double v = (int8_t)p[0];
        return a->normalized ? fmax(v / 127.0, -1.0) : v;
    }
    case CT_U8: return a->normalized ? p[0] / 255.0 : p[0];
    case CT_I16: {
        double v = (int16_t)mio_u16le(p);
        return a->normalized ? fmax(v / 32767.0, -1.0) : v;
    }
    case CT_U16: return a->normalized ? mio_u16le(p) / 65535.0 : mio_u16le(p);
    case CT_U32: return mio_u32le(p);
    case CT_F32: return mio_f32le(p);
    default: return 0;
    }
}

static void mat_mul(const double a[16], const double b[16], double out[16])
{
    double r[16];
    for (int col = 0; col < 4; col++)
        for (int row = 0; row < 4; row++) {
            double s = 0;
            for (int k = 0; k < 4; k++)
                s += a[k * 4 + row] * b[col * 4 + k];
            r[col * 4 + row] = s;
        }
    memcpy(out, r, sizeof r);
}

static int read_numbers(const cJSON *arr, int n, double *out)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n)
        return -1;
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return -1;
        out[i++] = v->valuedouble;
    }
    return 0;
}

static int node_local(glb_ctx *c, const cJSON *node, uint64_t ni, double m[16])
{
    static const double id[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    memcpy(m, id, sizeof id);
    const cJSON *mat = cJSON_GetObjectItemCaseSensitive(node, "matrix");
    if (mat)
        return read_numbers(mat, 16, m) ? orf_fail(c->e, "bad_mesh", "%s: glTF nodes[%llu] has a malformed matrix",
                                                   c->name, (unsigned long long)ni)
                                        : 0;
    double t[3] = {0, 0, 0}, r[4] = {0, 0, 0, 1}, s[3] = {1, 1, 1};
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(node, "translation");
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(node, "rotation");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(node, "scale");
    if ((jt && read_numbers(jt, 3, t)) || (jr && read_numbers(jr, 4, r)) || (js && read_numbers(js, 3, s)))
        return orf_fail(c->e, "bad_mesh", "%s: glTF nodes[%llu] has a malformed translation, rotation or scale",
                        c->name, (unsigned long long)ni);
    double x = r[0], y = r[1], z = r[2], w = r[3];
    double q = sqrt(x * x + y * y + z * z + w * w);
    if (q > 0) {
        x /= q;
        y /= q;
        z /= q;
        w /= q;
    } else
        w = 1;
    double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y + z * w),     2 * (x * z - y * w),
                   2 * (x * y - z * w),     1 - 2 * (x * x + z * z), 2 * (y * z + x * w),
                   2 * (x * z + y * w),     2 * (y * z - x * w),     1 - 2 * (x * x + y * y)}; /* column-major */
    for (int col = 0; col < 3; col++)
        for (int row = 0; row < 3; row++)
            m[col * 4 + row] = R[col * 3 + row] * s[col];
    m[12] = t[0];
    m[13] = t[1];
    m[14] = t[2];
    return 0;
}

typedef struct inst_list {
    glb_inst *p;
    size_t n, cap;
} inst_list;

static int add_inst(glb_ctx *c, inst_list *l, uint64_t mesh, const double mat[16])
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        glb_inst *p = realloc(l->p, cap * sizeof *p);
        if (!p)
            return orf_fail(c->e, "too_large", "%s: out of memory", c->name);
        l->p = p;
        l->cap = cap;
    }
    l->p[l->n].mesh = (uint32_t)mesh;
    memcpy(l->p[l->n].mat, mat, 16 * sizeof(double));
    l->n++;
    return 0;
}

static int walk_node(glb_ctx *c, uint64_t ni, const double parent[16], uint8_t *seen, int depth, inst_list *l)
{
    const cJSON *node = j_item(c, "nodes", ni);
    if (!node)
        return -1;
    if (seen[ni] || depth > 64)
        return orf_fail(c->e, "bad_mesh", "%s: glTF node hierarchy has a cycle or a shared node at nodes[%llu]",
                        c->name, (unsigned long long)ni);
    seen[ni] = 1;
    double local[16], world[16];
    if (node_local(c, node, ni, local))
        return -1;
    mat_mul(parent, local, world);
    uint64_t mesh;
    int r = j_uint(node, "mesh", &mesh);
    if (r < 0)
        return orf_fail(c->e, "bad_mesh", "%s: glTF nodes[%llu] has a malformed mesh", c->name, (unsigned long long)ni);
    if (r == 1) {
        if (!j_item(c, "meshes", mesh) || add_inst(c, l, mesh, world))
            return -1;
    }
    const cJSON *kids = cJSON_GetObjectItemCaseSensitive(node, "children");
    if (kids) {
        if (!cJSON_IsArray(kids))
            return orf_fail(c->e, "bad_mesh", "%s: glTF nodes[%llu].children is not an array", c->name,
                            (unsigned long long)ni);
        const cJSON *k;
        cJSON_ArrayForEach(k, kids)
        {
            if (!cJSON_IsNumber(k) || !(k->valuedouble >= 0) || k->valuedouble != floor(k->valuedouble))
                return orf_fail(c->e, "bad_mesh", "%s: glTF nodes[%llu] has a malformed child", c->name,
                                (unsigned long long)ni);
            if (walk_node(c, (uint64_t)k->valuedouble, world, seen, depth + 1, l))
                return -1;
        }
    }
    return 0;
}

static int collect_instances(glb_ctx *c, inst_list *l)
{
    static const double id[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    const cJSON *scenes = cJSON_GetObjectItemCaseSensitive(c->root, "scenes");
    if (cJSON_IsArray(scenes) && cJSON_GetArraySize(scenes) > 0) {
        uint64_t si = 0;
        if (j_uint(c->root, "scene", &si) < 0)
            return orf_fail(c->e, "bad_mesh", "%s: glTF \"scene\" is malformed", c->name);
        const cJSON *scene = j_item(c, "scenes", si);
        if (!scene)
            return -1;
        const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(c->root, "nodes");
        size_t nn = cJSON_IsArray(nodes) ? (size_t)cJSON_GetArraySize(nodes) : 0;
        uint8_t *seen = orf_zalloc(nn ? nn : 1, 1);
        if (!seen)
            return orf_fail(c->e, "too_large", "%s: out of memory", c->name);
        const cJSON *roots = cJSON_GetObjectItemCaseSensitive(scene, "nodes");
        const cJSON *k;
        int rc = 0;
        if (roots && !cJSON_IsArray(roots))
            rc = orf_fail(c->e, "bad_mesh", "%s: glTF scene nodes is not an array", c->name);
        else
            cJSON_ArrayForEach(k, roots)
            {
                if (!cJSON_IsNumber(k) || !(k->valuedouble >= 0) || k->valuedouble != floor(k->valuedouble)) {
                    rc = orf_fail(c->e, "bad_mesh", "%s: glTF scene has a malformed node index", c->name);
                    break;
                }
                if ((rc = walk_node(c, (uint64_t)k->valuedouble, id, seen, 0, l)))
                    break;
            }
        free(seen);
        return rc;
    }
    const cJSON *meshes = cJSON_GetObjectItemCaseSensitive(c->root, "meshes");
    int nm = cJSON_IsArray(meshes) ? cJSON_GetArraySize(meshes) : 0;
    for (int i = 0; i < nm; i++)
        if (add_inst(c, l, (uint64_t)i, id))
            return -1;
    return 0;
}

/* A triangle primitive's accessors; 0 when it is not a triangle primitive (skipped). */
typedef struct glb_prim {
    glb_acc pos, nrm, uv, col, idx;
    int has_nrm, has_uv, has_col, has_idx;
    int64_t material;
    uint32_t nverts, ntris;
} glb_prim;

static int attr_accessor(glb_ctx *c, const cJSON *attrs, const char *key, glb_acc *a, int *has)
{
    uint64_t ai;
    int r = j_uint(attrs, key, &ai);
    *has = 0;
    if (r < 0)
        return orf_fail(c->e, "bad_mesh", "%s: glTF attribute %s is malformed", c->name, key);
    if (r == 0)
        return 0;
    if (get_accessor(c, ai, a))
        return -1;
    *has = 1;
    return 0;
}

static int load_prim(glb_ctx *c, const cJSON *p, glb_prim *g)
{
    memset(g, 0, sizeof *g);
    g->material = -1;
    uint64_t mode = 4, idx, mat;
    if (!cJSON_IsObject(p) || j_uint(p, "mode", &mode) < 0)
        return orf_fail(c->e, "bad_mesh", "%s: glTF primitive is malformed", c->name);
    if (mode != 4)
        return 0;
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(p, "attributes");
    if (!cJSON_IsObject(attrs))
        return orf_fail(c->e, "bad_mesh", "%s: glTF primitive without attributes", c->name);
    int has_pos;
    if (attr_accessor(c, attrs, "POSITION", &g->pos, &has_pos))
        return -1;
    if (!has_pos)
        return orf_fail(c->e, "bad_mesh", "%s: glTF primitive without POSITION", c->name);
    if (g->pos.ncomp != 3)
        return orf_fail(c->e, "bad_mesh", "%s: glTF POSITION is not VEC3", c->name);
    if (attr_accessor(c, attrs, "NORMAL", &g->nrm, &g->has_nrm) ||
        attr_accessor(c, attrs, "TEXCOORD_0", &g->uv, &g->has_uv) ||
        attr_accessor(c, attrs, "COLOR_0", &g->col, &g->has_col))
        return -1;
    uint32_t nv = g->pos.count;
    if ((g->has_nrm && (g->nrm.ncomp != 3 || g->nrm.count != nv)) ||
        (g->has_uv && (g->uv.ncomp != 2 || g->uv.count != nv)) ||
        (g->has_col && (g->col.ncomp < 3 || g->col.count != nv)))
        return orf_fail(c->e, "bad_mesh", "%s: glTF NORMAL, TEXCOORD_0 or COLOR_0 does not match POSITION", c->name);
    int r = j_uint(p, "indices", &idx);
    if (r < 0)
        return orf_fail(c->e, "bad_mesh", "%s: glTF primitive indices is malformed", c->name);
    if (r == 1) {
        if (get_accessor(c, idx, &g->idx))
            return -1;
        if (g->idx.ncomp != 1 || (g->idx.ctype != CT_U8 && g->idx.ctype != CT_U16 && g->idx.ctype != CT_U32))
            return orf_fail(c->e, "bad_mesh", "%s: glTF indices must be unsigned scalar integers", c->name);
        g->has_idx = 1;
        g->ntris = g->idx.count / 3;
    } else {
        g->ntris = nv / 3;
    }
    if (j_uint(p, "material", &mat) == 1)
        g->material = (int64_t)mat;
    g->nverts = nv;
    return 1;
}

static int load_texture(glb_ctx *c, int64_t material, orf_image *img)
{
    if (material < 0)
        return 0;
    const cJSON *mat = j_item(c, "materials", (uint64_t)material);
    if (!mat)
        return -1;
    const cJSON *pbr = cJSON_GetObjectItemCaseSensitive(mat, "pbrMetallicRoughness");
    const cJSON *bct = pbr ? cJSON_GetObjectItemCaseSensitive(pbr, "baseColorTexture") : NULL;
    uint64_t ti, si, vi;
    if (!bct || j_uint(bct, "index", &ti) != 1)
        return 0;
    const cJSON *tex = j_item(c, "textures", ti);
    if (!tex)
        return -1;
    if (j_uint(tex, "source", &si) != 1)
        return 0;
    const cJSON *im = j_item(c, "images", si);
    if (!im)
        return -1;
    if (j_uint(im, "bufferView", &vi) != 1)
        return 0; /* external or data: URI image: not read */
    const uint8_t *data;
    size_t len;
    uint64_t stride;
    if (get_view(c, vi, &data, &len, &stride))
        return -1;
    /* the image reader's checks and its bounded decode, as for any image:
     * a hostile texture is refused, never decoded in this process */
    char what[300];
    snprintf(what, sizeof what, "%s: glTF images[%llu]", c->name, (unsigned long long)si);
    orf_err ie;
    if (image_load_memory(data, len, what, 16384ull * 16384, img, &ie) < 0)
        return orf_fail(c->e, strcmp(ie.code, "too_large") ? "bad_mesh" : "too_large", "%s", ie.message);
    return 1;
}

int meshio_read_glb(const uint8_t *d, size_t n, const char *name, uint32_t max_tris, orf_mesh *out, orf_err *e)
{
    memset(out, 0, sizeof *out);
    if (n < 12)
        return orf_fail(e, "bad_mesh", "%s: GLB of %zu bytes is shorter than its 12-byte header", name, n);
    if (mio_u32le(d) != GLB_MAGIC)
        return orf_fail(e, "bad_mesh", "%s: not a GLB file (bad magic)", name);
    if (mio_u32le(d + 4) != 2)
        return orf_fail(e, "bad_mesh", "%s: GLB version %u is not supported (only 2)", name, mio_u32le(d + 4));
    uint32_t total = mio_u32le(d + 8);
    if (total > n)
        return orf_fail(e, "bad_mesh", "%s: GLB header says %u bytes but the file has %zu (truncated?)", name, total, n);
    if (total < 20)
        return orf_fail(e, "bad_mesh", "%s: GLB header says %u bytes, too short for a JSON chunk", name, total);
    uint32_t jlen = mio_u32le(d + 12);
    if (mio_u32le(d + 16) != CHUNK_JSON)
        return orf_fail(e, "bad_mesh", "%s: GLB's first chunk is not JSON", name);
    if (jlen == 0)
        return orf_fail(e, "bad_mesh", "%s: GLB JSON chunk is empty: the file describes no mesh", name);
    if (jlen > total - 20)
        return orf_fail(e, "bad_mesh", "%s: GLB JSON chunk length %u runs past the end of the file (%u bytes)", name,
                        jlen, total);
    glb_ctx c = {NULL, NULL, 0, name, e};
    size_t at = 20 + (size_t)jlen;
    if (total - at >= 8) {
        uint32_t blen = mio_u32le(d + at), btype = mio_u32le(d + at + 4);
        if (blen > total - at - 8)
            return orf_fail(e, "bad_mesh", "%s: GLB BIN chunk length %u runs past the end of the file (%u bytes)",
                            name, blen, total);
        if (btype == CHUNK_BIN) {
            c.bin = d + at + 8;
            c.bin_n = blen;
        }
    }
    cJSON *root = cJSON_ParseWithLength((const char *)d + 20, jlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return orf_fail(e, "bad_mesh", "%s: GLB JSON chunk is not a valid JSON object", name);
    }
    c.root = root;
    inst_list l = {0};
    glb_prim *prims = NULL;
    size_t nprims = 0, cap = 0;
    int rc = -1;
    const cJSON *asset = cJSON_GetObjectItemCaseSensitive(root, "asset");
    const cJSON *ver = asset ? cJSON_GetObjectItemCaseSensitive(asset, "version") : NULL;
    if (!cJSON_IsString(ver) || strncmp(ver->valuestring, "2.", 2)) {
        orf_fail(e, "bad_mesh", "%s: glTF asset.version is missing or not 2.x", name);
        goto out;
    }
    if (collect_instances(&c, &l))
        goto out;
    /* Pass 1: every triangle primitive, checked, and the totals. */
    uint64_t tv = 0, tt = 0;
    int any_nrm = 0, any_uv = 0, any_col = 0;
    size_t *prim_inst = NULL;
    for (size_t i = 0; i < l.n; i++) {
        const cJSON *mesh = j_item(&c, "meshes", l.p[i].mesh);
        if (!mesh)
            goto out;
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(mesh, "primitives");
        if (!cJSON_IsArray(ps)) {
            orf_fail(e, "bad_mesh", "%s: glTF meshes[%u] has no primitives array", name, l.p[i].mesh);
            goto out;
        }
        const cJSON *p;
        cJSON_ArrayForEach(p, ps)
        {
            if (nprims == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                glb_prim *np = realloc(prims, ncap * sizeof *np);
                size_t *ni = realloc(prim_inst, ncap * sizeof *ni);
                if (np)
                    prims = np;
                if (ni)
                    prim_inst = ni;
                if (!np || !ni) {
                    free(prim_inst);
                    orf_fail(e, "too_large", "%s: out of memory", name);
                    goto out;
                }
                cap = ncap;
            }
            int r = load_prim(&c, p, &prims[nprims]);
            if (r < 0) {
                free(prim_inst);
                goto out;
            }
            if (r == 0)
                continue;
            prim_inst[nprims] = i;
            tv += prims[nprims].nverts;
            tt += prims[nprims].ntris;
            any_nrm |= prims[nprims].has_nrm;
            any_uv |= prims[nprims].has_uv;
            any_col |= prims[nprims].has_col;
            nprims++;
            if ((max_tris && tt > max_tris) || tt > UINT32_MAX / 3 || tv >= UINT32_MAX) {
                free(prim_inst);
                orf_fail(e, "too_large", "%s: GLB has more than %s%u triangles", name,
                         max_tris ? "the limit of " : "", max_tris ? max_tris : UINT32_MAX / 3);
                goto out;
            }
        }
    }
    if (tt == 0) {
        free(prim_inst);
        orf_fail(e, "bad_mesh", "%s: GLB without any triangle", name);
        goto out;
    }
    if (mesh_alloc(out, (uint32_t)tv, (uint32_t)tt,
                   (any_nrm ? MESH_NORMALS : 0) | (any_uv ? MESH_UVS : 0) | (any_col ? MESH_COLORS : 0), e)) {
        free(prim_inst);
        orf_fail(e, "too_large", "%s: out of memory for %llu vertices", name, (unsigned long long)tv);
        goto out;
    }
    /* Pass 2: fill. */
    uint32_t vbase = 0, tbase = 0;
    int64_t tex_material = -1;
    for (size_t pi = 0; pi < nprims; pi++) {
        const glb_prim *g = &prims[pi];
        const double *M = l.p[prim_inst[pi]].mat;
        /* normal matrix: inverse transpose of the upper 3x3 (cofactors) */
        double N[9];
        {
            double a = M[0], b = M[4], cc = M[8], dd = M[1], ee = M[5], f = M[9], gg = M[2], h = M[6], k = M[10];
            N[0] = ee * k - f * h;
            N[1] = -(dd * k - f * gg);
            N[2] = dd * h - ee * gg;
            N[3] = -(b * k - cc * h);
            N[4] = a * k - cc * gg;
            N[5] = -(a * h - b * gg);
            N[6] = b * f - cc * ee;
            N[7] = -(a * f - cc * dd);
            N[8] = a * ee - b * dd;
        }
        for (uint32_t i = 0; i < g->nverts; i++) {
            double p[3] = {acc_get(&g->pos, i, 0), acc_get(&g->pos, i, 1), acc_get(&g->pos, i, 2)};
            float *o = out->pos + 3 * ((size_t)vbase + i);
            for (int r = 0; r < 3; r++)
                o[r] = (float)(M[r] * p[0] + M[4 + r] * p[1] + M[8 + r] * p[2] + M[12 + r]);
            if (out->nrm) {
                float *on = out->nrm + 3 * ((size_t)vbase + i);
                if (g->has_nrm) {
                    double q[3] = {acc_get(&g->nrm, i, 0), acc_get(&g->nrm, i, 1), acc_get(&g->nrm, i, 2)};
                    double r3[3], len = 0;
                    for (int r = 0; r < 3; r++) {
                        r3[r] = N[r * 3 + 0] * q[0] + N[r * 3 + 1] * q[1] + N[r * 3 + 2] * q[2];
                        len += r3[r] * r3[r];
                    }
                    len = sqrt(len);
                    for (int r = 0; r < 3; r++)
                        on[r] = len > 0 ? (float)(r3[r] / len) : 0.0f;
                } else
                    on[0] = on[1] = on[2] = 0;
            }
            if (out->uv) {
                float *ou = out->uv + 2 * ((size_t)vbase + i);
                ou[0] = g->has_uv ? (float)acc_get(&g->uv, i, 0) : 0.0f;
                ou[1] = g->has_uv ? (float)acc_get(&g->uv, i, 1) : 0.0f;
            }
            if (out->col) {
                uint8_t *oc = out->col + 4 * ((size_t)vbase + i);
                for (int k = 0; k < 4; k++) {
                    double v = g->has_col && k < g->col.ncomp ? acc_get(&g->col, i, k) : 1.0;
                    if (g->has_col && !g->col.normalized && g->col.ctype != CT_F32)
                        v /= 255.0;
                    oc[k] = (uint8_t)(v <= 0 ? 0 : v >= 1 ? 255 : lrint(v * 255.0));
                }
            }
        }
        for (uint32_t t = 0; t < g->ntris; t++)
            for (int k = 0; k < 3; k++) {
                uint32_t vi = g->has_idx ? (uint32_t)acc_get(&g->idx, 3 * t + (uint32_t)k, 0) : 3 * t + (uint32_t)k;
                if (vi >= g->nverts) {
                    free(prim_inst);
                    orf_fail(e, "bad_mesh", "%s: glTF primitive triangle %u uses vertex %u but it has only %u", name,
                             t, vi, g->nverts);
                    goto out;
                }
                out->idx[3 * ((size_t)tbase + t) + (size_t)k] = vbase + vi;
            }
        if (tex_material < 0 && g->has_uv && g->material >= 0)
            tex_material = g->material;
        vbase += g->nverts;
        tbase += g->ntris;
    }
    free(prim_inst);
    if (out->uv && tex_material >= 0 && load_texture(&c, tex_material, &out->texture) < 0)
        goto out;
    rc = mio_reader_finish(out, name, e);
out:
    if (rc)
        mesh_free(out);
    free(prims);
    free(l.p);
    cJSON_Delete(root);
    return rc;
}
