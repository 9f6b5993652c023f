/* split.c: stratified splits and epoch shuffles (see split.h). */
#include "mpi/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsp/corpora.h"
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

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **dist_speakers(size_t n, char *const *speaker, size_t *count)
{
    char **u = malloc((n ? n : 1) * sizeof *u);
    if (!u) return NULL;
    memcpy(u, speaker, n * sizeof *u);
    if (n > 1) qsort(u, n, sizeof *u, cmp_strp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || strcmp(u[k - 1], u[i]) != 0) u[k++] = u[i];
    *count = k;
    return u;
}

/* Does token t (namespaced, or a bare id) name speaker s ("corpus:id")? */
static int names_speaker(const char *t, size_t tl, const char *s)
{
    if (memchr(t, ':', tl)) return strlen(s) == tl && strncasecmp(s, t, tl) == 0;
    const char *id = strchr(s, ':');
    id = id ? id + 1 : s;
    return strlen(id) == tl && strncasecmp(id, t, tl) == 0;
}

/* Marks as test the files of the speakers listed in `list` ("A,B,..."). */
static int held_speakers(size_t n, char *const *speaker, const char *list, int *test, struct err *e)
{
    size_t nu;
    char **u = dist_speakers(n, speaker, &nu);
    if (!u) return err_set(e, "out of memory");
    char *held = calloc(nu ? nu : 1, 1);
    int rc = held ? 0 : err_set(e, "out of memory");
    for (const char *t = list; rc == 0 && *t;) {
        size_t tl = strcspn(t, ",");
        size_t hit = nu, hits = 0;
        for (size_t k = 0; k < nu; k++)
            if (names_speaker(t, tl, u[k])) hit = hits++ ? hit : k, held[k] = 1;
        if (tl == 0 || hits == 0)
            rc = err_set(e, "--split speaker:%s: no file of speaker '%.*s'", list, (int)tl, t);
        else if (hits > 1)
            rc = err_set(e,
                         "--split speaker:%s: '%.*s' names %zu speakers (%s, ...): write "
                         "corpus:speaker",
                         list, (int)tl, t, hits, u[hit]);
        t += tl + (t[tl] == ',');
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *key = speaker[i];
        char **at = bsearch(&key, u, nu, sizeof *u, cmp_strp);
        test[i] = held[at - u];
    }
    free(u), free(held);
    return rc;
}

/* Moves n_val whole speakers of the training pool to validation, chosen with the seed. */
static int validation_speakers(size_t n, char *const *speaker, long n_val, uint64_t seed,
                               int *assign, struct err *e)
{
    char **pool = malloc((n ? n : 1) * sizeof *pool);
    size_t m = 0, nu = 0;
    if (!pool) return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (assign[i] != DIST_TEST) pool[m++] = speaker[i];
    char **u = dist_speakers(m, pool, &nu);
    free(pool);
    if (!u) return err_set(e, "out of memory");
    if ((size_t)n_val >= nu) {
        free(u);
        return err_set(e,
                       "--val-speakers %ld: the training set has %zu speakers (at least one "
                       "must stay for training)",
                       n_val, nu);
    }
    size_t *order = malloc(nu * sizeof *order);
    if (!order) return free(u), err_set(e, "out of memory");
    for (size_t k = 0; k < nu; k++) order[k] = k;
    shuffle(order, nu, nn_rng_key(seed, 0x5a11), 0x7e1);
    for (size_t i = 0; i < n; i++) {
        if (assign[i] == DIST_TEST) continue;
        char *key = speaker[i];
        size_t at = (size_t)((char **)bsearch(&key, u, nu, sizeof *u, cmp_strp) - u);
        int val = 0;
        for (long k = 0; k < n_val; k++) val |= order[k] == at;
        assign[i] = val ? DIST_VAL : DIST_TRAIN;
    }
    free(order), free(u);
    return 0;
}

int dist_split(size_t n, char *const *speaker, const int32_t *label, const int32_t *corpus,
               const struct dist_split_spec *sp, int *assign, struct err *e)
{
    const char *how = sp->how;
    int kind = strcmp(how, "random") == 0         ? 0
               : strncmp(how, "speaker:", 8) == 0 ? 1
               : strncmp(how, "corpus:", 7) == 0  ? 2
                                                  : -1;
    if (kind < 0)
        return err_set(e, "--split: unknown split '%s' (random, speaker:A[,B...], corpus:NAME)",
                       how);
    if (!(sp->val_frac >= 0 && sp->test_frac >= 0 && sp->val_frac + sp->test_frac < 1))
        return err_set(e, "split fractions %g/%g are invalid", sp->val_frac, sp->test_frac);
    int *test = calloc(n ? n : 1, sizeof *test), rc = test ? 0 : err_set(e, "out of memory");
    int held_corpus = kind == 2 ? dsp_corpus_index(how + 7) : -1;
    if (rc == 0 && kind == 1) rc = held_speakers(n, speaker, how + 8, test, e);
    if (rc == 0 && kind == 2 && held_corpus < 0)
        rc = err_set(e, "--split %s: unknown corpus '%s'", how, how + 7);
    size_t *pool = rc ? NULL : malloc((n ? n : 1) * sizeof *pool), m = 0, n_held = 0;
    if (rc == 0 && !pool) rc = err_set(e, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (kind == 2) test[i] = corpus[i] == held_corpus;
        assign[i] = test[i] ? DIST_TEST : DIST_TRAIN;
        n_held += (size_t)test[i];
        if (!test[i]) pool[m++] = i;
    }
    double vf = kind ? sp->val_frac / (1 - sp->test_frac) : sp->val_frac;
    double tf = kind ? 0 : sp->test_frac;
    if (sp->val_speakers > 0) vf = 0;
    if (rc == 0 && split_pool(pool, m, speaker, label, sp->seed, vf, tf, assign))
        rc = err_set(e, "out of memory");
    if (rc == 0 && sp->val_speakers > 0)
        rc = validation_speakers(n, speaker, sp->val_speakers, sp->seed, assign, e);
    free(pool), free(test);
    if (rc) return -1;
    if (kind == 2 && n_held == 0) return err_set(e, "--split %s: no file of that corpus", how);
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
