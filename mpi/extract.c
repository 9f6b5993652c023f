/* extract.c: `ser extract` and dist_extract (see extract.h). */
#include "mpi/extract.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpi/cli.h"
#include "mpi/comm/comm.h"
#include "mpi/commands.h"
#include "mpi/progress.h"
#include "dsp/scan.h"
#include "mpi/shard.h"

enum { REASON_LEN = 320 };

/* FNV-1a, 64 bit: the cache key only needs to change when an input changes. */
static void fnv(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 1099511628211ULL;
    }
}

static void fnv_str(uint64_t *h, const char *s)
{
    fnv(h, s, strlen(s) + 1);
}

static void fnv_file(uint64_t *h, const char *path)
{
    struct stat st;
    int64_t v[3] = {-1, -1, -1};
    if (stat(path, &st) == 0) {
        v[0] = (int64_t)st.st_size;
        v[1] = (int64_t)st.st_mtim.tv_sec;
        v[2] = (int64_t)st.st_mtim.tv_nsec;
    }
    fnv_str(h, path);
    fnv(h, v, sizeof v);
}

static int32_t meta_of(const struct dsp_item *it)
{
    return it->label | it->corpus << 8 | (int32_t)(unsigned char)it->gender << 16;
}

static uint64_t cache_key(const struct dsp_corpus *c, const struct dsp_features_params *q)
{
    uint64_t h = 14695981039346656037ULL;
    fnv_str(&h, "ser-features-2");
    double dv[6] = {q->load.offset_s, q->load.duration_s, q->mfcc.fmin,
                    q->mfcc.fmax,     q->mfcc.amin,       q->mfcc.top_db};
    int64_t iv[7] = {q->load.sample_rate, q->mfcc.sample_rate, q->mfcc.n_fft, q->mfcc.hop,
                     q->mfcc.n_mels,      q->mfcc.n_mfcc,      (int64_t)c->n};
    fnv(&h, dv, sizeof dv);
    fnv(&h, iv, sizeof iv);
    /* hashed only when not the default, so MFCC caches of earlier writers stay valid */
    if (q->mfcc.output != DSP_MFCC_OUT_MFCC || q->mfcc.deltas) {
        int64_t ov[2] = {q->mfcc.output, q->mfcc.deltas};
        fnv(&h, ov, sizeof ov);
    }
    for (size_t i = 0; i < c->n; i++) {
        fnv_file(&h, c->items[i].path);
        fnv_str(&h, c->items[i].speaker);
        int32_t l = meta_of(&c->items[i]);
        fnv(&h, &l, sizeof l);
    }
    for (size_t i = 0; i < c->n_skipped; i++) fnv_file(&h, c->skipped[i].path);
    return h;
}

/* Hash of the labelled file list alone (paths, speakers, labels; not sizes or times): what a
 * checkpoint records so that a resumed run refuses another corpus before extracting it. */
static uint64_t list_hash(const struct dsp_corpus *c)
{
    uint64_t h = 14695981039346656037ULL;
    fnv_str(&h, "ser-list-2");
    for (size_t i = 0; i < c->n; i++) {
        fnv_str(&h, c->items[i].path);
        fnv_str(&h, c->items[i].speaker);
        int32_t l = meta_of(&c->items[i]);
        fnv(&h, &l, sizeof l);
    }
    return h;
}

/* The file list as rank 0 broadcasts it: "path\0speaker\0" per item, then per item its
 * label | corpus << 8 | gender << 16 (meta). */
struct filelist {
    size_t n;
    char *blob;
    size_t bloblen;
    const char **path, **speaker;
    int32_t *label; /* meta */
};

static void filelist_free(struct filelist *f)
{
    free(f->blob);
    free(f->path);
    free(f->speaker);
    free(f->label);
    memset(f, 0, sizeof *f);
}

static int filelist_index(struct filelist *f)
{
    f->path = malloc((f->n ? f->n : 1) * sizeof *f->path);
    f->speaker = malloc((f->n ? f->n : 1) * sizeof *f->speaker);
    if (!f->path || !f->speaker) return -1;
    size_t pos = 0;
    for (size_t i = 0; i < f->n; i++) {
        f->path[i] = f->blob + pos;
        pos += strlen(f->blob + pos) + 1;
        f->speaker[i] = f->blob + pos;
        pos += strlen(f->blob + pos) + 1;
    }
    return 0;
}

static int filelist_from_corpus(struct filelist *f, const struct dsp_corpus *c)
{
    f->n = c->n;
    f->bloblen = 0;
    for (size_t i = 0; i < c->n; i++)
        f->bloblen += strlen(c->items[i].path) + strlen(c->items[i].speaker) + 2;
    f->blob = malloc(f->bloblen ? f->bloblen : 1);
    f->label = malloc((f->n ? f->n : 1) * sizeof *f->label);
    if (!f->blob || !f->label) return -1;
    size_t pos = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t a = strlen(c->items[i].path) + 1, b = strlen(c->items[i].speaker) + 1;
        memcpy(f->blob + pos, c->items[i].path, a);
        memcpy(f->blob + pos + a, c->items[i].speaker, b);
        pos += a + b;
        f->label[i] = meta_of(&c->items[i]);
    }
    return filelist_index(f);
}

/* Broadcasts rank 0's dataset to every rank through its encoded form. */
static int bcast_dataset(struct dist_comm *comm, struct dist_dataset *d, struct err *e)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rank = dist_comm_rank(comm);
    int rc = rank == 0 ? dist_dataset_encode(d, 0, &buf, &len, e) : 0;
    if (dist_agree(comm, rc ? SER_EXIT_INPUT : 0, e) || dist_bcast_buffer(comm, &buf, &len, 0, e)) {
        free(buf);
        return -1;
    }
    if (rank != 0) rc = dist_dataset_decode(d, buf, len, "features from rank 0", e);
    free(buf);
    return dist_agree(comm, rc ? SER_EXIT_INPUT : 0, e) ? -1 : 0;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

/* What one extraction has in hand, on every rank. */
struct job {
    struct dist_comm *comm;
    int rank, size;
    const struct dist_extract_opts *o;
    struct dsp_corpus corpus; /* rank 0 */
    struct filelist fl;
    uint64_t key, list; /* cache key, file-list hash */
    size_t dim;         /* floats per sample */
    size_t b, nloc;     /* this rank's shard [b, b + nloc) */
    float *x;           /* [nloc or n][dim] */
    int32_t *ok;        /* [nloc or n] 1 = extracted */
    char *why;          /* [nloc or n][REASON_LEN] */
};

static void job_free(struct job *j)
{
    dsp_corpus_free(&j->corpus);
    filelist_free(&j->fl);
    free(j->x), free(j->ok), free(j->why);
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A cached dataset is used only if it is exactly this corpus's: every usable file is a
 * scanned one with the same speaker and label, in order; every other scanned file is among
 * its skipped ones; the matrices have the shape the parameters give. NULL when it matches,
 * else what does not. */
static const char *cache_mismatch(const struct dist_dataset *c, const struct job *j)
{
    const struct filelist *fl = &j->fl;
    struct dsp_features *fx = NULL;
    struct err e = {0};
    if (dsp_features_create(&fx, &j->o->params, &e)) return "its parameters do not build";
    size_t nm = dsp_features_rows(fx), nf = dsp_features_frames(fx);
    dsp_features_free(fx);
    if (c->n_mfcc != nm || c->frames != nf) return "its matrices have another shape";
    if (c->n > fl->n || c->n_skipped > fl->n + j->corpus.n_skipped) return "it lists more files";
    size_t k = 0, used = 0;
    for (size_t i = 0; i < fl->n; i++) {
        if (k < c->n && strcmp(c->path[k], fl->path[i]) == 0) {
            int32_t m =
                c->label[k] | c->corpus[k] << 8 | (int32_t)(unsigned char)c->gender[k] << 16;
            if (strcmp(c->speaker[k], fl->speaker[i]) != 0 || m != fl->label[i])
                return "a file's speaker or label differs";
            k++, used++;
        } else if (!bsearch(&fl->path[i], c->skip_path, c->n_skipped, sizeof *c->skip_path,
                            cmp_path)) {
            return "a scanned file is neither in it nor skipped";
        }
    }
    return k == c->n && used == c->n ? NULL : "it holds files the corpus does not";
}

static int cmp_item_path(const void *a, const void *b)
{
    return strcmp(((const struct dsp_item *)a)->path, ((const struct dsp_item *)b)->path);
}

static int cmp_skip_path(const void *a, const void *b)
{
    return strcmp(((const struct dsp_skip *)a)->path, ((const struct dsp_skip *)b)->path);
}

/* Moves every item and skip of src into dst (src emptied). Returns 0 or -1 out of memory. */
static int absorb(struct dsp_corpus *dst, struct dsp_corpus *src)
{
    struct dsp_item *it = realloc(dst->items, (dst->n + src->n + 1) * sizeof *it);
    if (it) dst->items = it;
    struct dsp_skip *sk = realloc(dst->skipped, (dst->n_skipped + src->n_skipped + 1) * sizeof *sk);
    if (sk) dst->skipped = sk;
    if (!it || !sk) return -1;
    if (src->n) memcpy(dst->items + dst->n, src->items, src->n * sizeof *it);
    if (src->n_skipped)
        memcpy(dst->skipped + dst->n_skipped, src->skipped, src->n_skipped * sizeof *sk);
    dst->n += src->n, dst->n_skipped += src->n_skipped;
    dst->n_duplicates += src->n_duplicates, dst->n_ignored += src->n_ignored;
    free(src->items), free(src->skipped);
    memset(src, 0, sizeof *src);
    return 0;
}

/* Every --data source scanned and merged into one corpus sorted by path; a file reached
 * through two sources is listed once (an item wins over a skip). */
static int scan_sources(const struct dist_extract_opts *o, struct dsp_corpus *all, struct err *e)
{
    for (int s = 0; s < o->n_data; s++) {
        struct dsp_corpus one = {0};
        int rc = dsp_scan(o->data[s], &o->scan, &one, e);
        if (rc == 0 && absorb(all, &one)) rc = err_set(e, "out of memory");
        dsp_corpus_free(&one);
        if (rc) return -1;
    }
    if (o->n_data < 2) return 0;
    qsort(all->items, all->n, sizeof *all->items, cmp_item_path);
    qsort(all->skipped, all->n_skipped, sizeof *all->skipped, cmp_skip_path);
    size_t k = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (k && strcmp(all->items[k - 1].path, all->items[i].path) == 0) {
            free(all->items[i].path), free(all->items[i].speaker), free(all->items[i].word);
            all->n_duplicates++;
            continue;
        }
        all->items[k++] = all->items[i];
    }
    all->n = k;
    /* a skipped path is listed once, and not at all when another source made it an item */
    k = 0;
    for (size_t i = 0; i < all->n_skipped; i++) {
        struct dsp_skip *sk = &all->skipped[i];
        struct dsp_item key = {.path = sk->path};
        if ((k && strcmp(all->skipped[k - 1].path, sk->path) == 0) ||
            bsearch(&key, all->items, all->n, sizeof *all->items, cmp_item_path)) {
            free(sk->path), free(sk->reason);
            continue;
        }
        all->skipped[k++] = *sk;
    }
    all->n_skipped = k;
    return 0;
}

/* Rank 0: scans the corpus and looks for a valid feature file. Returns 0 (*hit: d holds the
 * cached dataset) or -1 with e. */
static int scan_and_check_cache(struct job *j, struct dist_dataset *d, int *hit, struct err *e)
{
    const struct dist_extract_opts *o = j->o;
    *hit = 0;
    if (scan_sources(o, &j->corpus, e)) return -1;
    if (filelist_from_corpus(&j->fl, &j->corpus)) return err_set(e, "out of memory");
    j->key = cache_key(&j->corpus, &o->params);
    j->list = list_hash(&j->corpus);
    if (o->expect_list && j->list != o->expect_list)
        return err_set(e,
                       "%s: %zu files that are not the corpus this run was trained on (its "
                       "checkpoint names another file list): check --data",
                       o->data[0], j->corpus.n);
    struct stat st;
    if (!o->out || o->force || stat(o->out, &st) != 0) return 0;
    struct err ce = {0};
    struct dist_dataset c = {0};
    if (dist_dataset_load(&c, o->out, j->fl.n + j->corpus.n_skipped, &ce) != 0) {
        if (o->verbose)
            fprintf(stderr, "ser: ignoring feature file (%s); extracting again\n", ce.msg);
    } else if (c.cache_key == j->key && dist_params_equal(&c.params, &o->params)) {
        const char *why = cache_mismatch(&c, j);
        if (!why) {
            *hit = 1;
            *d = c;
            return 0;
        }
        if (o->verbose)
            fprintf(stderr, "ser: ignoring feature file %s: %s; extracting again\n", o->out, why);
        dist_dataset_free(&c);
    } else {
        dist_dataset_free(&c);
    }
    return 0;
}

/* Rank 0's file list to every rank. */
static int share_filelist(struct job *j, struct err *e)
{
    uint64_t hdr[2] = {j->fl.n, j->fl.bloblen};
    dist_bcast(j->comm, hdr, sizeof hdr, 0);
    int rc = 0;
    if (j->rank != 0) {
        j->fl.n = (size_t)hdr[0];
        j->fl.bloblen = (size_t)hdr[1];
        j->fl.blob = malloc(j->fl.bloblen ? j->fl.bloblen : 1);
        j->fl.label = malloc((j->fl.n ? j->fl.n : 1) * sizeof *j->fl.label);
        if (!j->fl.blob || !j->fl.label) rc = err_set(e, "out of memory for the file list");
    }
    if (dist_agree(j->comm, rc ? SER_EXIT_INPUT : 0, e)) return -1;
    dist_bcast(j->comm, j->fl.blob, j->fl.bloblen, 0);
    dist_bcast(j->comm, j->fl.label, j->fl.n * sizeof *j->fl.label, 0);
    if (j->rank != 0 && filelist_index(&j->fl)) rc = err_set(e, "out of memory");
    return dist_agree(j->comm, rc ? SER_EXIT_INPUT : 0, e) ? -1 : 0;
}

/* Each rank extracts its contiguous shard; failures keep their reasons. */
static int extract_shard(struct job *j, struct err *e)
{
    struct dsp_features *fx = NULL;
    size_t en;
    dist_shard(j->fl.n, j->size, j->rank, &j->b, &en);
    j->nloc = en - j->b;
    int rc = dsp_features_create(&fx, &j->o->params, e);
    j->dim = fx ? dsp_features_rows(fx) * dsp_features_frames(fx) : 0;
    j->x = malloc((j->nloc ? j->nloc : 1) * (j->dim ? j->dim : 1) * sizeof(float));
    j->ok = calloc(j->nloc ? j->nloc : 1, sizeof *j->ok);
    j->why = calloc(j->nloc ? j->nloc : 1, REASON_LEN);
    if (rc == 0 && (!j->x || !j->ok || !j->why)) rc = err_set(e, "out of memory");
    if (dist_agree(j->comm, rc ? SER_EXIT_INPUT : 0, e)) {
        dsp_features_free(fx);
        return -1;
    }
    struct dist_progress pg;
    dist_progress_start(&pg, "extract", "files", j->fl.n, j->rank == 0 && j->o->verbose);
    for (size_t i = 0; i < j->nloc; i++) {
        const char *path = j->fl.path[j->b + i];
        struct dsp_audio_info info;
        struct err fe = {0};
        if (dsp_audio_probe(path, &info, &fe) == 0 &&
            dsp_features_file(fx, path, j->x + i * j->dim, &fe) == 0) {
            j->ok[i] = 1;
        } else {
            /* Messages start with the path; the skip list stores the reason alone. */
            const char *msg = fe.msg;
            size_t pl = strlen(path);
            if (strncmp(msg, path, pl) == 0 && msg[pl] == ':') msg += pl + 1 + (msg[pl + 1] == ' ');
            snprintf(j->why + i * REASON_LEN, REASON_LEN, "%.300s", msg);
        }
        /* Shards are equal in size, so rank 0's share estimates the whole. */
        size_t est = (i + 1) * (size_t)j->size;
        dist_progress_update(&pg, est < j->fl.n ? est : j->fl.n - 1);
    }
    dist_progress_end(&pg);
    dsp_features_free(fx);
    return 0;
}

/* Matrices, statuses and reasons of every shard to rank 0 (or every rank). */
static int gather(struct job *j, struct err *e)
{
    int all = j->o->all_ranks, mine = all || j->rank == 0;
    size_t n = mine ? j->fl.n : 0, *counts = malloc((size_t)j->size * sizeof *counts);
    float *x = malloc((n ? n : 1) * (j->dim ? j->dim : 1) * sizeof(float));
    int32_t *ok = malloc((n ? n : 1) * sizeof *ok);
    char *why = malloc((n ? n : 1) * REASON_LEN);
    int rc = counts && x && ok && why ? 0 : err_set(e, "out of memory gathering features");
    if (dist_agree(j->comm, rc ? SER_EXIT_INPUT : 0, e)) {
        free(counts), free(x), free(ok), free(why);
        return -1;
    }
    for (int r = 0; r < j->size; r++) {
        size_t rb, re;
        dist_shard(j->fl.n, j->size, r, &rb, &re);
        counts[r] = re - rb;
    }
    dist_gather_records(j->comm, j->x, x, counts, j->dim * sizeof(float), !all);
    dist_gather_records(j->comm, j->ok, ok, counts, sizeof *ok, !all);
    dist_gather_records(j->comm, j->why, why, counts, REASON_LEN, !all);
    free(counts), free(j->x), free(j->ok), free(j->why);
    j->x = x, j->ok = ok, j->why = why;
    return 0;
}

/* The dataset: usable files in list order; failures join the scan's skip list (by path). */
static int assemble(struct job *j, struct dist_dataset *d, struct err *e)
{
    const struct filelist *fl = &j->fl;
    size_t good = 0, bad = 0, nscan = j->rank == 0 ? j->corpus.n_skipped : 0;
    for (size_t i = 0; i < fl->n; i++) j->ok[i] ? good++ : bad++;
    d->n = good;
    d->n_mfcc = dsp_mfcc_rows(&j->o->params.mfcc);
    d->frames = j->dim / (d->n_mfcc ? d->n_mfcc : 1);
    d->params = j->o->params;
    d->cache_key = j->key;
    d->label = malloc((good ? good : 1) * sizeof *d->label);
    d->corpus = malloc((good ? good : 1) * sizeof *d->corpus);
    d->gender = malloc(good ? good : 1);
    d->path = calloc(good ? good : 1, sizeof *d->path);
    d->speaker = calloc(good ? good : 1, sizeof *d->speaker);
    d->skip_path = calloc(nscan + bad + 1, sizeof *d->skip_path);
    d->skip_reason = calloc(nscan + bad + 1, sizeof *d->skip_reason);
    int rc = d->label && d->corpus && d->gender && d->path && d->speaker && d->skip_path &&
                     d->skip_reason
                 ? 0
                 : -1;
    for (size_t i = 0, k = 0; rc == 0 && i < fl->n; i++) {
        if (!j->ok[i]) continue;
        if (k != i) memmove(j->x + k * j->dim, j->x + i * j->dim, j->dim * sizeof(float));
        d->label[k] = fl->label[i] & 0xff;
        d->corpus[k] = fl->label[i] >> 8 & 0xff;
        d->gender[k] = (char)(fl->label[i] >> 16 & 0xff);
        if (!(d->path[k] = xstrdup(fl->path[i])) || !(d->speaker[k] = xstrdup(fl->speaker[i])))
            rc = -1;
        k++;
    }
    d->x = j->x;
    j->x = NULL;
    size_t a = 0, z = 0, s = 0;
    while (rc == 0) {
        while (z < fl->n && j->ok[z]) z++;
        if (a >= nscan && z >= fl->n) break;
        int scan = a < nscan && (z >= fl->n || strcmp(j->corpus.skipped[a].path, fl->path[z]) < 0);
        const char *p = scan ? j->corpus.skipped[a].path : fl->path[z];
        const char *r = scan ? j->corpus.skipped[a].reason : j->why + z * REASON_LEN;
        if (!(d->skip_path[s] = xstrdup(p)) || !(d->skip_reason[s] = xstrdup(r))) rc = -1;
        s++;
        scan ? a++ : z++;
    }
    d->n_skipped = s;
    return rc ? err_set(e, "out of memory assembling features") : 0;
}

int dist_extract(struct dist_comm *comm, const struct dist_extract_opts *o, struct dist_dataset *d,
                 struct err *e)
{
    struct job j = {
        .comm = comm, .rank = dist_comm_rank(comm), .size = dist_comm_size(comm), .o = o};
    double t0 = dist_now();
    int hit = 0, rc = j.rank == 0 ? scan_and_check_cache(&j, d, &hit, e) : 0;
    if (dist_agree(comm, rc ? err_exit_code(e) : 0, e)) goto fail;
    dist_bcast(comm, &hit, sizeof hit, 0);
    dist_bcast(comm, &j.list, sizeof j.list, 0);
    if (hit) {
        if (j.rank == 0 && o->verbose)
            fprintf(stderr, "ser: features up to date: %s (%zu files, %zu skipped)\n", o->out, d->n,
                    d->n_skipped);
        job_free(&j);
        rc = o->all_ranks ? bcast_dataset(comm, d, e) : 0;
        d->list_hash = j.list;
        return rc;
    }
    if (share_filelist(&j, e) || extract_shard(&j, e) || gather(&j, e)) goto fail;
    rc = (o->all_ranks || j.rank == 0) ? assemble(&j, d, e) : 0;
    d->list_hash = j.list;
    if (dist_agree(comm, rc ? SER_EXIT_INPUT : 0, e)) goto fail;
    double el = dist_now() - t0;
    if (j.rank == 0 && o->verbose)
        fprintf(stderr,
                "ser: extracted %zu files (%zu skipped) in %.2f s: %.1f files/s on %d rank%s\n",
                d->n, d->n_skipped, el, el > 0 ? (double)(d->n + d->n_skipped) / el : 0, j.size,
                j.size == 1 ? "" : "s");
    job_free(&j);
    /* Rank 0 writes the feature file; a failure leaves the dataset usable (return 1). */
    return j.rank == 0 && o->out && dist_dataset_save(d, o->out, e) != 0 ? 1 : 0;
fail:
    job_free(&j);
    dist_dataset_free(d);
    return -1;
}

/* ---- ser extract ---- */

struct extract_cli {
    struct cli_list data;
    char out[4096], corpus[16];
    int force, quiet, ravdess_song;
    double offset, duration;
    long sr, n_mfcc;
    char feature_type[16];
    long n_mels;
    int deltas;
};

#define X(f) CLI_FIELD(struct extract_cli, f)
static const struct cli_opt extract_opts[] = {
    {"data", CLI_LIST, X(data), NULL, 0, 0, NULL, "DIR",
     "corpus directory or CSV manifest (repeat for several)", NULL, NULL, 0},
    {"out", CLI_STRING, X(out), NULL, 0, 0, NULL, "FILE",
     "feature file to write (reused when inputs and parameters are unchanged)", NULL, NULL, 0},
    {"corpus", CLI_STRING, X(corpus), "auto", 0, 0, "auto|tess|ravdess|cremad|savee|emodb", "NAME",
     "read every file with this corpus's naming instead of recognising each", NULL, NULL, 0},
    {"ravdess-song", CLI_FLAG, X(ravdess_song), NULL, 0, 0, NULL, NULL,
     "also extract RAVDESS's song files", NULL, NULL, 0},
    {"offset", CLI_DOUBLE, X(offset), "0.5", 0, 1e6, NULL, "SECONDS",
     "start of the analysed clip in each file", NULL, NULL, 0},
    {"duration", CLI_DOUBLE, X(duration), "3", 1e-3, 3600, NULL, "SECONDS",
     "clip length; shorter clips are zero-padded", NULL, NULL, 0},
    {"sr", CLI_LONG, X(sr), "22050", 1000, 768000, NULL, "HZ", "analysis sample rate", NULL, NULL,
     0},
    {"n-mfcc", CLI_LONG, X(n_mfcc), "40", 1, 128, NULL, "N", "MFCC coefficients", NULL, NULL, 0},
    DIST_FEATURE_OPTS(struct extract_cli),
    {"force", CLI_FLAG, X(force), NULL, 0, 0, NULL, NULL,
     "extract again even if FILE is up to date", NULL, NULL, 0},
    {"quiet", CLI_FLAG, X(quiet), NULL, 0, 0, NULL, NULL, "no progress or summary output", NULL,
     NULL, 0},
};

static int extract_check(const void *cfg, struct err *e)
{
    const struct extract_cli *c = cfg;
    return !c->data.n || !c->out[0] ? err_set(e, "--data and --out are required") : 0;
}

static const struct cli_table extract_table = {
    "extract",
    "mpirun -np N ser extract --data DIR --out FILE [--force] [--quiet]",
    "Extracts the 40 x 130 MFCC matrix (or --feature-type logmel, --deltas) of every usable file "
    "of a corpus (librosa 0.10 "
    "settings),\nsharded over the MPI ranks, into one compressed, checksummed feature file.",
    extract_opts,
    sizeof extract_opts / sizeof extract_opts[0],
    extract_check,
    NULL,
    0};

/* Rank 0's report of a finished extraction. Returns the exit code. */
static int extract_report(const struct extract_cli *c, const struct dist_dataset *d, int rc,
                          const struct err *e)
{
    if (!c->quiet)
        for (size_t i = 0; i < d->n_skipped; i++)
            fprintf(stderr, "skipped: %s: %s\n", d->skip_path[i], d->skip_reason[i]);
    if (rc > 0) {
        fprintf(stderr, "ser extract: %s\n", e->msg);
        return err_exit_code(e);
    }
    if (!c->quiet)
        fprintf(stderr, "ser: wrote %s: %zu files x %zu x %zu features\n", c->out, d->n, d->n_mfcc,
                d->frames);
    return 0;
}

int cmd_extract(int argc, char **argv)
{
    struct extract_cli c;
    int pos;
    cli_defaults(&extract_table, &c);
    int r = cli_parse(&extract_table, argc, argv, &c, &pos);
    if (r != CLI_OK) return cli_exit_code(r);
    if (pos < argc) {
        fprintf(stderr, "ser extract: unexpected argument '%s'\nusage: %s\n", argv[pos],
                extract_table.usage);
        return SER_EXIT_INPUT;
    }
    struct dist_comm *comm;
    struct err e = {0};
    if (dist_comm_init(&argc, &argv, &comm, &e)) {
        fprintf(stderr, "ser extract: %s\n", e.msg);
        return SER_EXIT_INPUT;
    }
    const char *data[CLI_LIST_MAX];
    for (int i = 0; i < c.data.n; i++) data[i] = c.data.v[i];
    struct dist_extract_opts o = {
        .data = data, .n_data = c.data.n, .out = c.out, .force = c.force, .verbose = !c.quiet};
    dsp_scan_default_opts(&o.scan);
    o.scan.validate = 0;
    o.scan.names.corpus = dsp_corpus_index(c.corpus);
    o.scan.names.ravdess_song = c.ravdess_song;
    dist_features_params_from(&o.params, c.offset, c.duration, (int)c.sr, (int)c.n_mfcc);
    if (dist_features_params_output(&o.params, c.feature_type, c.n_mels, c.deltas, &e)) {
        if (dist_comm_rank(comm) == 0) fprintf(stderr, "ser extract: %s\n", e.msg);
        dist_comm_finalize(comm);
        return SER_EXIT_INPUT;
    }
    struct dist_dataset d = {0};
    int rc = dist_extract(comm, &o, &d, &e), code = 0;
    if (rc < 0) {
        if (dist_comm_rank(comm) == 0) fprintf(stderr, "ser extract: %s\n", e.msg);
        code = err_exit_code(&e);
    } else if (dist_comm_rank(comm) == 0) {
        code = extract_report(&c, &d, rc, &e);
    }
    dist_dataset_free(&d);
    dist_bcast(comm, &code, sizeof code, 0);
    dist_comm_finalize(comm);
    return code;
}
