/* exact.c: order-independent, bit-exact sums across ranks (see exact.h).
 *
 * Reference: the exact rational sum of the terms (tests/test_exact.c checks the fixed-point
 * vector sums against it within the quantisation bound, and the double accumulator bit for
 * bit against Python's Fraction sum rounded by float(), which is correctly rounded).
 * Everything is integer arithmetic except products by powers of two (exact) and floor()
 * (independent of the rounding mode), so no result depends on the FPU state or on order.
 */
#include "mpi/exact.h"

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
                    struct err *e)
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
    if (n > (size_t)INT32_MAX - 2 || nseg > (size_t)INT32_MAX - 4)
        return err_set(e,
                       "dist_exact_init: %zu values in %zu segments is too many for one "
                       "allreduce",
                       n, nseg);
    x->offsets = malloc((nseg + 1) * sizeof *x->offsets);
    x->maxabs = calloc(nseg ? nseg : 1, sizeof *x->maxabs);
    x->shift = calloc(nseg ? nseg : 1, sizeof *x->shift);
    x->mul = calloc(nseg ? nseg : 1, sizeof *x->mul);
    x->acc = calloc(n + 2, sizeof *x->acc);
    if (!x->offsets || !x->maxabs || !x->shift || !x->mul || !x->acc)
        return err_set(e, "dist_exact_init: out of memory for %zu values", n);
    memcpy(x->offsets, offsets, (nseg + 1) * sizeof *x->offsets);
    x->n = n;
    x->nseg = nseg;
    return 0;
}

void dist_exact_free(struct dist_exact *x)
{
    free(x->offsets);
    free(x->maxabs);
    free(x->shift);
    free(x->mul);
    free(x->acc);
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
    memset(x->acc, 0, (x->n + 2) * sizeof *x->acc);
    for (size_t s = 0; s < x->nseg; s++) x->maxabs[s] = 0;
    x->bad_seg = -1;
    x->local_bad = -1;
    x->phase = 0;
    x->misuse = 0;
    x->total_terms = 0;
}

int dist_exact_agree(struct dist_exact *x, MPI_Comm comm, uint64_t total_terms, struct err *e)
{
    size_t ns = x->nseg;
    /* [maxima | -lowest bad segment | T | -T | misuse]: one MAX reduction checks all. */
    double *buf = malloc((ns + 4) * sizeof *buf);
    int local_fail = buf == NULL;
    if (buf) {
        for (size_t s = 0; s < ns; s++) buf[s] = x->maxabs[s];
        buf[ns] = x->local_bad >= 0 ? -(double)x->local_bad : -HUGE_VAL;
        buf[ns + 1] = (double)total_terms;
        buf[ns + 2] = -(double)total_terms;
        buf[ns + 3] = (x->phase != 0 || x->misuse) ? 1.0 : 0.0;
    }
    /* Every rank must reach the same decision: agree on a possible allocation failure first. */
    MPI_Allreduce(MPI_IN_PLACE, &local_fail, 1, MPI_INT, MPI_MAX, comm);
    if (local_fail) {
        free(buf);
        x->misuse = 1;
        return err_set(e, "dist_exact_agree: out of memory on some rank");
    }
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)(ns + 4), MPI_DOUBLE, MPI_MAX, comm);
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
        memset(x->acc, 0, (x->n + 2) * sizeof *x->acc);
        x->phase = 1;
    }
    free(buf);
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

int dist_exact_finish(struct dist_exact *x, MPI_Comm comm, double scale, float *out, struct err *e)
{
    size_t n = x->n;
    if (x->phase != 1) {
        memset(x->acc, 0, (n + 2) * sizeof *x->acc);
        x->misuse = 1;
    }
    x->acc[n + 1] = x->misuse;
    MPI_Allreduce(MPI_IN_PLACE, x->acc, (int)(n + 2), MPI_INT64_T, MPI_SUM, comm);
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
            for (size_t i = x->offsets[s]; i < x->offsets[s + 1]; i++)
                out[i] = (float)((double)x->acc[i] * inv * scale);
        }
    }
    exact_reset(x);
    return rc;
}

/* ---- 2. exact accumulator for doubles ---- */

enum { XSUM_LOW = -1088, XSUM_TOP = DIST_XSUM_WORDS - 1 };
#define XSUM_MASK UINT64_C(0xFFFFFFFF)
/* Carry propagation is due before any word could exceed 2^62 in magnitude: each add puts
 * less than 2^32 into a word, so 2^28 adds (plus the normalised residue) are safe. */
#define XSUM_NORM_EVERY (UINT32_C(1) << 28)

/* After this every word but the top one is in [0, 2^32); the top one carries the sign. */
static void xsum_normalise(int64_t *w)
{
    for (int k = 0; k < XSUM_TOP; k++) {
        int64_t low = (int64_t)((uint64_t)w[k] & XSUM_MASK);
        int64_t carry = (w[k] - low) / (INT64_C(1) << 32); /* exact: a multiple of 2^32 */
        w[k] = low;
        w[k + 1] += carry;
    }
}

void dist_xsum_zero(struct dist_xsum *a)
{
    memset(a, 0, sizeof *a);
}

int dist_xsum_add(struct dist_xsum *a, double v)
{
    if (!isfinite(v)) {
        a->nonfinite = 1;
        return -1;
    }
    if (v == 0) return 0;
    int ex;
    double f = frexp(fabs(v), &ex); /* |v| = f 2^ex, f in [0.5, 1) */
    uint64_t m;
    int e2;
    if (ex - 53 >= -1074) {
        m = (uint64_t)ldexp(f, 53); /* 53-bit integer, exact */
        e2 = ex - 53;
    } else { /* subnormal: an integer multiple of 2^-1074 */
        m = (uint64_t)ldexp(fabs(v), 1074);
        e2 = -1074;
    }
    int p = e2 - XSUM_LOW; /* >= 14 */
    int k = p / 32, r = p % 32;
    uint64_t d0 = (m << r) & XSUM_MASK;
    uint64_t t = m >> (32 - r); /* bits 32.. of m << r (r = 0: m >> 32) */
    uint64_t d1 = t & XSUM_MASK, d2 = t >> 32;
    int64_t sg = v < 0 ? -1 : 1;
    a->w[k] += sg * (int64_t)d0;
    a->w[k + 1] += sg * (int64_t)d1;
    a->w[k + 2] += sg * (int64_t)d2;
    if (++a->adds >= XSUM_NORM_EVERY) {
        xsum_normalise(a->w);
        a->adds = 0;
    }
    return 0;
}

void dist_xsum_merge(struct dist_xsum *a, const struct dist_xsum *b)
{
    xsum_normalise(a->w);
    for (int k = 0; k < DIST_XSUM_WORDS; k++) a->w[k] += b->w[k];
    a->adds = b->adds + 1;
    if (a->adds >= XSUM_NORM_EVERY) {
        xsum_normalise(a->w);
        a->adds = 0;
    }
    a->nonfinite |= b->nonfinite;
}

double dist_xsum_value(const struct dist_xsum *a)
{
    if (a->nonfinite) return NAN;
    int64_t w[DIST_XSUM_WORDS];
    memcpy(w, a->w, sizeof w);
    xsum_normalise(w);
    double sign = 1;
    if (w[XSUM_TOP] < 0) {
        for (int k = 0; k < DIST_XSUM_WORDS; k++) w[k] = -w[k];
        xsum_normalise(w);
        sign = -1;
    }
    if (w[XSUM_TOP] > 0) return sign * HUGE_VAL; /* |sum| >= 2^1024 */
    int h = XSUM_TOP - 1;
    while (h >= 0 && w[h] == 0) h--;
    if (h < 0) return 0.0;
    uint64_t dh = (uint64_t)w[h];
    uint64_t dm = h >= 1 ? (uint64_t)w[h - 1] : 0;
    uint64_t dl = h >= 2 ? (uint64_t)w[h - 2] : 0;
    int b = 31;
    while (!((dh >> b) & 1u)) b--;
    /* 64 bits from the leading one; what falls below them only matters as "non-zero". */
    uint64_t mant = (dh << (63 - b)) | (dm << (31 - b)) | (dl >> (b + 1));
    int sticky = (dl & ((UINT64_C(1) << (b + 1)) - 1)) != 0;
    for (int k = h - 3; k >= 0 && !sticky; k--) sticky = w[k] != 0;
    int lead = 32 * h + XSUM_LOW + b;              /* weight of the leading one; >= -1074 */
    int e0 = lead - 63;                            /* weight of bit 0 of mant */
    int u = lead - 52 > -1074 ? lead - 52 : -1074; /* weight of the last kept bit */
    int drop = u - e0;                             /* 11 .. 63 */
    uint64_t q = mant >> drop;
    uint64_t rem = mant & ((UINT64_C(1) << drop) - 1);
    uint64_t half = UINT64_C(1) << (drop - 1);
    if (rem > half || (rem == half && (sticky || (q & 1u)))) q++;
    return sign * ldexp((double)q, u); /* q <= 2^53: exact; overflows to inf correctly */
}

int dist_xsum_allreduce(MPI_Comm comm, struct dist_xsum *a, size_t n, struct err *e)
{
    /* [n sums of DIST_XSUM_WORDS words | n non-finite counts] */
    const size_t len = n * (DIST_XSUM_WORDS + 1);
    int64_t *buf = n < (size_t)INT32_MAX / (DIST_XSUM_WORDS + 1)
                       ? malloc((len ? len : 1) * sizeof *buf)
                       : NULL;
    int fail = buf == NULL;
    MPI_Allreduce(MPI_IN_PLACE, &fail, 1, MPI_INT, MPI_MAX, comm);
    if (fail) {
        free(buf);
        return err_set(e, "dist_xsum_allreduce: out of memory for %zu sums on some rank", n);
    }
    int64_t *flags = buf + n * DIST_XSUM_WORDS;
    for (size_t i = 0; i < n; i++) {
        int64_t *w = buf + i * DIST_XSUM_WORDS;
        memcpy(w, a[i].w, sizeof a[i].w);
        xsum_normalise(w);
        flags[i] = a[i].nonfinite != 0;
    }
    /* Normalised words are below 2^32 in magnitude, so 2^31 ranks cannot overflow. */
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)len, MPI_INT64_T, MPI_SUM, comm);
    for (size_t i = 0; i < n; i++) {
        memcpy(a[i].w, buf + i * DIST_XSUM_WORDS, sizeof a[i].w);
        xsum_normalise(a[i].w);
        a[i].adds = 0;
        a[i].nonfinite = flags[i] != 0;
    }
    free(buf);
    return 0;
}

int dist_exact_sum_doubles(MPI_Comm comm, const double *in, double *out, size_t n, struct err *e)
{
    struct dist_xsum *a = malloc((n ? n : 1) * sizeof *a);
    int fail = a == NULL;
    MPI_Allreduce(MPI_IN_PLACE, &fail, 1, MPI_INT, MPI_MAX, comm);
    if (fail) {
        free(a);
        return err_set(e, "dist_exact_sum_doubles: out of memory for %zu sums on some rank", n);
    }
    for (size_t i = 0; i < n; i++) {
        dist_xsum_zero(&a[i]);
        dist_xsum_add(&a[i], in[i]); /* a non-finite value is carried as a flag */
    }
    int rc = dist_xsum_allreduce(comm, a, n, e);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) out[i] = dist_xsum_value(&a[i]); /* NaN where flagged */
        for (size_t i = 0; i < n; i++)
            if (a[i].nonfinite) {
                rc = err_set(e, "non-finite value (NaN or infinity) in sum %zu", i);
                break;
            }
    }
    free(a);
    return rc;
}
