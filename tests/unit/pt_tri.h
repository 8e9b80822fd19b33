/* pt_tri.h - the squared distance from a point to a triangle (the closest
 * point by Ericson, Real-Time Collision Detection 5.1.5), for the tests that
 * measure how far a decimated surface lies from its input (test_decimate,
 * tests/tools/decbench). */
#ifndef ORFEAS_TEST_PT_TRI_H
#define ORFEAS_TEST_PT_TRI_H

static inline double pt_tri_d2(const double p[3], const float *a, const float *b, const float *c)
{
    /* Ericson 5.1.5 */
    double ab[3], ac[3], ap[3], q[3];
    for (int k = 0; k < 3; k++) {
        ab[k] = (double)b[k] - a[k];
        ac[k] = (double)c[k] - a[k];
        ap[k] = p[k] - a[k];
    }
#define DOT(u, v) ((u)[0] * (v)[0] + (u)[1] * (v)[1] + (u)[2] * (v)[2])
    double d1 = DOT(ab, ap), d2 = DOT(ac, ap);
    if (d1 <= 0 && d2 <= 0) {
        for (int k = 0; k < 3; k++)
            q[k] = a[k];
        goto done;
    }
    double bp[3], cp[3];
    for (int k = 0; k < 3; k++) {
        bp[k] = p[k] - b[k];
        cp[k] = p[k] - c[k];
    }
    double d3 = DOT(ab, bp), d4 = DOT(ac, bp);
    if (d3 >= 0 && d4 <= d3) {
        for (int k = 0; k < 3; k++)
            q[k] = b[k];
        goto done;
    }
    double vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) {
        double v = d1 / (d1 - d3);
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + v * ab[k];
        goto done;
    }
    double d5 = DOT(ab, cp), d6 = DOT(ac, cp);
    if (d6 >= 0 && d5 <= d6) {
        for (int k = 0; k < 3; k++)
            q[k] = c[k];
        goto done;
    }
    double vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) {
        double w = d2 / (d2 - d6);
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + w * ac[k];
        goto done;
    }
    double va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
        double w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        for (int k = 0; k < 3; k++)
            q[k] = b[k] + w * ((double)c[k] - b[k]);
        goto done;
    }
    {
        double den = 1.0 / (va + vb + vc), v = vb * den, w = vc * den;
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + ab[k] * v + ac[k] * w;
    }
done:;
    double d[3] = {p[0] - q[0], p[1] - q[1], p[2] - q[2]};
    return DOT(d, d);
#undef DOT
}

#endif
