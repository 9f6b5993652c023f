/* split.c: stratified splits and epoch shuffles (see split.h). */
#include "mpi/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/rng.h"

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) h = nn_rng_key(h, (unsigned char)*s);
    return nn_rng_key(h, 0);
}

/* Shuffles a[0..n) in place with keys (k0, k1). */
static void shuffle(size_t *a, size_t n, uint64_t k0, uint64_t k1)
{
    for (size_t i = n; i > 1; i--) {
        uint64_t r = nn_rng_hash5(k0, k1, i, 0x5817, 0);
        size_t j = (size_t)(r % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void dist_shuffle(const size_t *idx, size_t n, uint64_t seed, uint64_t epoch, size_t *perm)
{
    memcpy(perm, idx, n * sizeof *perm);
    shuffle(perm, n, nn_rng_key(seed, 0xe90c), epoch);
}

/* Files grouped by (speaker, label): order[] holds the file indices sorted by group, then by
 * index; group g is order[start[g] .. start[g + 1]). */
struct groups {
    size_t *order, *start, n;
    char *const *speaker;
    const int32_t *label;
};

static const struct groups *g_sort; /* qsort has no context argument */

static int cmp_member(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(g_sort->speaker[x], g_sort->speaker[y]);
    if (c) return c;
    if (g_sort->label[x] != g_sort->label[y]) return g_sort->label[x] < g_sort->label[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Groups the files of list[0..m) (sorted in place). Returns 0 or -1 (out of memory). */
static int make_groups(struct groups *G, size_t *list, size_t m)
{
    G->order = list;
    G->start = malloc((m + 1) * sizeof *G->start);
    if (!G->start) return -1;
    g_sort = G;
    if (m > 1) qsort(list, m, sizeof *list, cmp_member);
    G->n = 0;
    for (size_t i = 0; i < m; i++) {
        size_t a = list[i], b = i ? list[i - 1] : 0;
        if (i == 0 || G->label[a] != G->label[b] || strcmp(G->speaker[a], G->speaker[b]) != 0)
            G->start[G->n++] = i;
    }
    G->start[G->n] = m;
    return 0;
}

struct share {
    size_t g;
    double frac; /* fractional part of the exact share */
    uint64_t tie;
};

static int cmp_share(const void *a, const void *b)
{
    const struct share *x = a, *y = b;
    if (x->frac != y->frac) return x->frac > y->frac ? -1 : 1;
    return (x->tie > y->tie) - (x->tie < y->tie);
}

/* take[g] += this subset's files of group g: `total` files over all groups, group g's exact
 * share frac * size(g), never more than cap(g) = size(g) - take[g] already given. Largest
 * remainder: floors first, then one more to the groups with the largest fractional parts. */
static int allocate(const struct groups *G, size_t *take, double frac, size_t total, uint64_t seed,
                    uint64_t salt)
{
    struct share *sh = malloc((G->n ? G->n : 1) * sizeof *sh);
    if (!sh) return -1;
    size_t given = 0, ns = 0;
    for (size_t g = 0; g < G->n; g++) {
        size_t size = G->start[g + 1] - G->start[g], cap = size - take[g];
        double exact = frac * (double)size, fl = floor(exact);
        size_t f = (size_t)fl < cap ? (size_t)fl : cap;
        take[g] += f;
        given += f;
        if (f < cap) {
            size_t first = G->order[G->start[g]];
            uint64_t h = nn_rng_key(hash_str(nn_rng_key(seed, salt), G->speaker[first]),
                                    (uint64_t)G->label[first]);
            sh[ns++] = (struct share){g, exact - fl, h};
        }
    }
    qsort(sh, ns, sizeof *sh, cmp_share);
    for (size_t k = 0; k < ns && given < total; k++, given++) take[sh[k].g]++;
    free(sh);
    return 0;
}

/* Splits the files list[0..m) into test (tf), validation (vf) and training, stratified. */
static int split_pool(size_t *list, size_t m, char *const *speaker, const int32_t *label,
                      uint64_t seed, double vf, double tf, int *assign)
{
    struct groups G = {.speaker = speaker, .label = label};
    if (make_groups(&G, list, m)) return -1;
    size_t *nt = calloc(G.n + 1, sizeof *nt), *nv = calloc(G.n + 1, sizeof *nv);
    int rc = !nt || !nv ? -1 : 0;
    size_t n_test = (size_t)llround(tf * (double)m), n_val = (size_t)llround(vf * (double)m);
    if (rc == 0) rc = allocate(&G, nt, tf, n_test, seed, 0x7e57);
    if (rc == 0) {
        /* validation: its share of each group, out of what test left */
        for (size_t g = 0; g < G.n; g++) nv[g] = nt[g];
        rc = allocate(&G, nv, vf, n_val, seed, 0x7a1);
        for (size_t g = 0; g < G.n; g++) nv[g] -= nt[g];
    }
    for (size_t g = 0; rc == 0 && g < G.n; g++) {
        size_t *grp = G.order + G.start[g], size = G.start[g + 1] - G.start[g];
        shuffle(grp, size, nn_rng_key(hash_str(seed, speaker[grp[0]]), (uint64_t)label[grp[0]]),
                0x591);
        for (size_t k = 0; k < size; k++)
            assign[grp[k]] = k < nt[g] ? DIST_TEST : k < nt[g] + nv[g] ? DIST_VAL : DIST_TRAIN;
    }
    free(nt), free(nv), free(G.start);
    return rc;
}

int dist_split(size_t n, char *const *speaker, const int32_t *label, const char *how, uint64_t seed,
               double val_frac, double test_frac, int *assign, struct err *e)
{
    const char *held = NULL;
    if (strncmp(how, "speaker:", 8) == 0) {
        held = how + 8;
        if (!*held) return err_set(e, "--split speaker:NAME needs a speaker name");
    } else if (strcmp(how, "random") != 0) {
        return err_set(e, "--split: unknown split '%s' (use random or speaker:NAME)", how);
    }
    if (!(val_frac >= 0 && test_frac >= 0 && val_frac + test_frac < 1))
        return err_set(e, "split fractions %g/%g are invalid", val_frac, test_frac);
    size_t *pool = malloc((n ? n : 1) * sizeof *pool), m = 0, n_held = 0;
    if (!pool) return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int is_held = held && strcmp(speaker[i], held) == 0;
        assign[i] = is_held ? DIST_TEST : DIST_TRAIN;
        n_held += (size_t)is_held;
        if (!is_held) pool[m++] = i;
    }
    double vf = held ? val_frac / (1 - test_frac) : val_frac, tf = held ? 0 : test_frac;
    int rc = split_pool(pool, m, speaker, label, seed, vf, tf, assign);
    free(pool);
    if (rc) return err_set(e, "out of memory");
    if (held && n_held == 0) return err_set(e, "--split %s: no file of speaker %s", how, held);
    size_t cnt[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) cnt[assign[i]]++;
    if (cnt[DIST_TRAIN] == 0 || cnt[DIST_VAL] == 0 || cnt[DIST_TEST] == 0)
        return err_set(e,
                       "split %s of %zu files leaves an empty subset (train %zu, val %zu, "
                       "test %zu): the corpus is too small",
                       how, n, cnt[0], cnt[1], cnt[2]);
    return 0;
}

uint64_t dist_split_hash(size_t n, char *const *path, const int *assign)
{
    uint64_t h = nn_rng_key(0x5b11, n);
    for (size_t i = 0; i < n; i++) h = nn_rng_key(hash_str(h, path[i]), (uint64_t)assign[i]);
    return h;
}
