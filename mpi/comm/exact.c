/* exact.c: order-independent, bit-exact sums across ranks (see exact.h).
 *
 * Reference: the exact rational sum of the terms (tests/test_exact.c checks the fixed-point
 * vector sums against it within the quantisation bound, and the double accumulator bit for
 * bit against Python's Fraction sum rounded by float(), which is correctly rounded).
 * Everything is integer arithmetic except products by powers of two (exact) and floor()
 * (independent of the rounding mode), so no result depends on the FPU state or on order.
 */
#include "mpi/comm/exact.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* round_half_even(y) for |y| < 2^62, with floor() only: floor and the subtraction a - f
 * (exact: Sterbenz for a >= 1, trivial for a < 1) do not depend on the rounding mode. */
static int64_t round_even(double y)
{
    double a = fabs(y);
    double f = floor(a);
    double d = a - f;
    int64_t q = (int64_t)f;
    if (d > 0.5 || (d == 0.5 && ((uint64_t)q & 1u))) q++;
    return y < 0 ? -q : q;
}

static unsigned ceil_log2(uint64_t t)
{
    unsigned k = 0;
    while (k < 64 && (UINT64_C(1) << k) < t) k++;
    return k;
}

/* ---- 1. float vectors ---- */

int dist_exact_init(struct dist_exact *x, size_t n, size_t nseg, const size_t *offsets,
                    size_t n_extra, struct err *e)
{
    memset(x, 0, sizeof *x);
    x->bad_seg = -1;
    x->local_bad = -1;
    if (!offsets || offsets[0] != 0 || offsets[nseg] != n)
        return err_set(e, "dist_exact_init: offsets must run from 0 to n = %zu", n);
    for (size_t s = 0; s < nseg; s++)
        if (offsets[s + 1] < offsets[s])
            return err_set(e, "dist_exact_init: offsets[%zu] = %zu > offsets[%zu] = %zu", s,
                           offsets[s], s + 1, offsets[s + 1]);
    if (n > (size_t)INT32_MAX - 2 - n_extra || nseg > (size_t)INT32_MAX - 5)
        return err_set(e,
                       "dist_exact_init: %zu values in %zu segments is too many for one "
                       "allreduce",
                       n, nseg);
    x->offsets = malloc((nseg + 1) * sizeof *x->offsets);
    x->maxabs = calloc(nseg ? nseg : 1, sizeof *x->maxabs);
    x->shift = calloc(nseg ? nseg : 1, sizeof *x->shift);
    x->mul = calloc(nseg ? nseg : 1, sizeof *x->mul);
    x->acc = calloc(n + 2 + n_extra, sizeof *x->acc);
    x->maxbuf = calloc(nseg + 5, sizeof *x->maxbuf);
    if (!x->offsets || !x->maxabs || !x->shift || !x->mul || !x->acc || !x->maxbuf)
        return err_set(e, "dist_exact_init: out of memory for %zu values", n);
    memcpy(x->offsets, offsets, (nseg + 1) * sizeof *x->offsets);
    x->n = n;
    x->nseg = nseg;
    x->n_extra = n_extra;
    x->n_scaled = n;
    return 0;
}

void dist_exact_free(struct dist_exact *x)
{
    free(x->offsets);
    free(x->maxabs);
    free(x->shift);
    free(x->mul);
    free(x->acc);
    free(x->maxbuf);
    memset(x, 0, sizeof *x);
    x->bad_seg = -1;
    x->local_bad = -1;
}

int dist_exact_observe(struct dist_exact *x, const float *v)
{
    if (x->phase != 0) {
        x->misuse = 1;
        return 0;
    }
    int bad = 0;
    for (size_t s = 0; s < x->nseg; s++) {
        float m = x->maxabs[s];
        int seg_bad = 0;
        for (size_t i = x->offsets[s]; i < x->offsets[s + 1]; i++) {
            float a = fabsf(v[i]);
            if (a > m) m = a;
            seg_bad |= !(a <= FLT_MAX);
        }
        if (seg_bad) {
            /* NaN never passes a > m, an infinity does: keep the finite maximum. */
            m = x->maxabs[s];
            for (size_t i = x->offsets[s]; i < x->offsets[s + 1]; i++) {
                float a = fabsf(v[i]);
                if (a <= FLT_MAX && a > m) m = a;
            }
            if (x->local_bad < 0 || (long)s < x->local_bad) x->local_bad = (long)s;
            bad = 1;
        }
        x->maxabs[s] = m;
    }
    return bad;
}

static void exact_reset(struct dist_exact *x)
{
    memset(x->acc, 0, (x->n + 2 + x->n_extra) * sizeof *x->acc);
    for (size_t s = 0; s < x->nseg; s++) x->maxabs[s] = 0;
    x->bad_seg = -1;
    x->local_bad = -1;
    x->phase = 0;
    x->misuse = 0;
    x->total_terms = 0;
}

int dist_exact_agree(struct dist_exact *x, struct dist_comm *comm, uint64_t total_terms, int *flag,
                     struct err *e)
{
    size_t ns = x->nseg;
    /* [maxima | -lowest bad segment | T | -T | misuse | flag]: one MAX reduction checks all
     * and carries the caller's flag. */
    double *buf = x->maxbuf;
    for (size_t s = 0; s < ns; s++) buf[s] = x->maxabs[s];
    buf[ns] = x->local_bad >= 0 ? -(double)x->local_bad : -HUGE_VAL;
    buf[ns + 1] = (double)total_terms;
    buf[ns + 2] = -(double)total_terms;
    buf[ns + 3] = (x->phase != 0 || x->misuse) ? 1.0 : 0.0;
    buf[ns + 4] = flag ? (double)*flag : 0.0;
    dist_max_f64(comm, buf, ns + 5);
    if (flag) *flag = (int)buf[ns + 4];
    int rc = 0;
    if (buf[ns + 3] != 0) {
        rc = err_set(e, "dist_exact_agree: called out of order on some rank "
                        "(observe after agree, or agree twice)");
    } else if (buf[ns] != -HUGE_VAL) {
        size_t s = (size_t)(-buf[ns]);
        rc = err_set(e, "non-finite value (NaN or infinity) in segment %zu (elements %zu..%zu)", s,
                     x->offsets[s], x->offsets[s + 1]);
    } else if (buf[ns + 1] != -buf[ns + 2]) {
        rc = err_set(e, "dist_exact_agree: ranks passed different total_terms (%.0f vs %.0f)",
                     -buf[ns + 2], buf[ns + 1]);
    } else if (total_terms < 1 || total_terms > (UINT64_C(1) << 32)) {
        rc = err_set(e, "dist_exact_agree: total_terms = %llu is outside 1..2^32",
                     (unsigned long long)total_terms);
    }
    if (rc != 0) {
        exact_reset(x); /* ready for a new round; x->bad_seg still names the segment */
        if (buf[ns + 3] == 0 && buf[ns] != -HUGE_VAL) x->bad_seg = (long)(-buf[ns]);
    } else {
        int t = (int)ceil_log2(total_terms);
        for (size_t s = 0; s < ns; s++) {
            float m = (float)buf[s];
            x->maxabs[s] = m;
            int ex = 0;
            if (m > 0) frexp((double)m, &ex); /* m < 2^ex */
            /* m * 2^shift < 2^(62 - t): T rounded terms sum to at most 2^62. */
            x->shift[s] = m > 0 ? 62 - t - ex : 0;
            x->mul[s] = ldexp(1.0, x->shift[s]);
        }
        x->total_terms = total_terms;
        x->bad_seg = -1;
        memset(x->acc, 0, (x->n + 2 + x->n_extra) * sizeof *x->acc);
        x->phase = 1;
    }
    return rc;
}

int dist_exact_add(struct dist_exact *x, const float *v)
{
    if (x->phase != 1 || (uint64_t)x->acc[x->n] >= x->total_terms) {
        x->misuse = 1;
        return -1;
    }
    int bad = 0;
    for (size_t s = 0; s < x->nseg; s++) {
        const float m = x->maxabs[s];
        const double mul = x->mul[s];
        for (size_t i = x->offsets[s]; i < x->offsets[s + 1]; i++) {
            /* An element above the agreed maximum could overflow: leave it out. */
            if (!(fabsf(v[i]) <= m)) {
                bad = 1;
                continue;
            }
            x->acc[i] += round_even((double)v[i] * mul); /* exact product: power of two */
        }
    }
    x->acc[x->n]++;
    if (bad) {
        x->misuse = 1;
        return -1;
    }
    return 0;
}

int dist_exact_finish(struct dist_exact *x, struct dist_comm *comm, double scale, float *out,
                      int64_t *extra, struct err *e)
{
    size_t n = x->n;
    if (x->phase != 1) {
        memset(x->acc, 0, (n + 2) * sizeof *x->acc);
        x->misuse = 1;
    }
    x->acc[n + 1] = x->misuse;
    if (x->n_extra && extra)
        memcpy(x->acc + n + 2, extra, x->n_extra * sizeof *extra);
    else
        memset(x->acc + n + 2, 0, x->n_extra * sizeof *x->acc);
    dist_sum_i64(comm, x->acc, n + 2 + x->n_extra);
    if (x->n_extra && extra) memcpy(extra, x->acc + n + 2, x->n_extra * sizeof *extra);
    int rc = 0;
    if (x->acc[n + 1] != 0)
        rc = err_set(e,
                     "dist_exact_finish: %lld rank(s) called out of order, added a value "
                     "above the agreed maximum (a term that was not observed) or added more "
                     "than total_terms terms",
                     (long long)x->acc[n + 1]);
    else if ((uint64_t)x->acc[n] > x->total_terms)
        rc = err_set(e, "dist_exact_finish: %lld terms were added, more than the %llu agreed",
                     (long long)x->acc[n], (unsigned long long)x->total_terms);
    if (rc == 0) {
        for (size_t s = 0; s < x->nseg; s++) {
            const double inv = ldexp(1.0, -x->shift[s]);
            const double sc = x->offsets[s] < x->n_scaled ? scale : 1.0;
            for (size_t i = x->offsets[s]; i < x->offsets[s + 1]; i++)
                out[i] = (float)((double)x->acc[i] * inv * sc);
        }
    }
    exact_reset(x);
    return rc;
}
