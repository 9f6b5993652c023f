/* extract.c: `ser extract` and dist_extract (see extract.h). */
#include "mpi/extract.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpi/cli.h"
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

static uint64_t cache_key(const struct dsp_corpus *c, const struct dsp_features_params *q)
{
    uint64_t h = 14695981039346656037ULL;
    fnv_str(&h, "ser-features-1");
    double dv[6] = {q->load.offset_s, q->load.duration_s, q->mfcc.fmin,
                    q->mfcc.fmax,     q->mfcc.amin,       q->mfcc.top_db};
    int64_t iv[7] = {q->load.sample_rate, q->mfcc.sample_rate, q->mfcc.n_fft, q->mfcc.hop,
                     q->mfcc.n_mels,      q->mfcc.n_mfcc,      (int64_t)c->n};
    fnv(&h, dv, sizeof dv);
    fnv(&h, iv, sizeof iv);
    for (size_t i = 0; i < c->n; i++) {
        fnv_file(&h, c->items[i].path);
        fnv_str(&h, c->items[i].speaker);
        int32_t l = c->items[i].label;
        fnv(&h, &l, sizeof l);
    }
    for (size_t i = 0; i < c->n_skipped; i++) fnv_file(&h, c->skipped[i].path);
    return h;
}

/* The file list as rank 0 broadcasts it: "path\0speaker\0" per item, then labels. */
struct filelist {
    size_t n;
    char *blob;
    size_t bloblen;
    const char **path, **speaker;
    int32_t *label;
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
        f->label[i] = c->items[i].label;
    }
    return filelist_index(f);
}

/* Broadcasts a byte buffer of any size from rank 0 (MPI counts are int). */
static int bcast_bytes(MPI_Comm comm, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (MPI_Bcast(p, chunk, MPI_BYTE, 0, comm) != MPI_SUCCESS) return -1;
        p += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

/* Broadcasts rank 0's dataset to every rank through its encoded form. */
static int bcast_dataset(MPI_Comm comm, int rank, struct dist_dataset *d, struct err *e)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int ok = 1;
    if (rank == 0 && dist_dataset_encode(d, 0, &buf, &len, e)) ok = 0;
    uint64_t hdr[2] = {(uint64_t)ok, len};
    MPI_Bcast(hdr, 2, MPI_UINT64_T, 0, comm);
    if (!hdr[0]) {
        free(buf);
        return rank == 0 ? -1 : err_set(e, "rank 0 failed to share the features");
    }
    len = (size_t)hdr[1];
    if (rank != 0) buf = malloc(len ? len : 1);
    int have = buf != NULL, all = 0;
    MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, comm);
    if (!all) {
        free(buf);
        return err_set(e, "out of memory receiving %zu bytes of features", len);
    }
    bcast_bytes(comm, buf, len);
    int rc = 0;
    if (rank != 0) rc = dist_dataset_decode(d, buf, len, "features from rank 0", e);
    free(buf);
    return rc;
}

static int all_ok(MPI_Comm comm, int ok)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm);
    return all;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

int dist_extract(MPI_Comm comm, const struct dist_extract_opts *o, struct dist_dataset *d,
                 struct err *e)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    double t0 = dist_now();
    struct dsp_corpus corpus = {0};
    struct filelist fl = {0};
    uint64_t key = 0;
    int hit = 0, ok = 1;

    /* 1. Rank 0 scans and checks the cache. */
    if (rank == 0) {
        if (dsp_scan(o->data, 0, &corpus, e))
            ok = 0;
        else if (filelist_from_corpus(&fl, &corpus))
            ok = 0, err_set(e, "out of memory");
        if (ok) {
            key = cache_key(&corpus, &o->params);
            struct stat st;
            if (o->out && !o->force && stat(o->out, &st) == 0) {
                struct err ce = {{0}};
                struct dist_dataset c = {0};
                if (dist_dataset_load(&c, o->out, &ce) != 0) {
                    if (o->verbose)
                        fprintf(stderr, "ser: ignoring feature file (%s); extracting again\n",
                                ce.msg);
                } else if (c.cache_key == key && dist_params_equal(&c.params, &o->params)) {
                    hit = 1;
                    *d = c;
                } else {
                    dist_dataset_free(&c);
                }
            }
        }
    }
    uint64_t hdr[4] = {(uint64_t)ok, (uint64_t)hit, fl.n, fl.bloblen};
    MPI_Bcast(hdr, 4, MPI_UINT64_T, 0, comm);
    if (!hdr[0]) {
        dsp_corpus_free(&corpus);
        filelist_free(&fl);
        return rank == 0 ? -1 : err_set(e, "rank 0 could not read the corpus");
    }
    if (hdr[1]) {
        if (rank == 0 && o->verbose)
            fprintf(stderr, "ser: features up to date: %s (%zu files, %zu skipped)\n", o->out, d->n,
                    d->n_skipped);
        dsp_corpus_free(&corpus);
        filelist_free(&fl);
        return o->all_ranks ? bcast_dataset(comm, rank, d, e) : 0;
    }

    /* 2. Everyone learns the file list. */
    if (rank != 0) {
        fl.n = (size_t)hdr[2];
        fl.bloblen = (size_t)hdr[3];
        fl.blob = malloc(fl.bloblen ? fl.bloblen : 1);
        fl.label = malloc((fl.n ? fl.n : 1) * sizeof *fl.label);
        ok = fl.blob && fl.label;
    }
    if (!all_ok(comm, ok)) {
        dsp_corpus_free(&corpus);
        filelist_free(&fl);
        return err_set(e, "out of memory for the file list");
    }
    bcast_bytes(comm, fl.blob, fl.bloblen);
    MPI_Bcast(fl.label, (int)fl.n, MPI_INT32_T, 0, comm);
    if (rank != 0 && filelist_index(&fl)) ok = 0;

    /* 3. Each rank extracts its shard. */
    size_t b, en;
    dist_shard(fl.n, size, rank, &b, &en);
    size_t nloc = en - b;
    struct dsp_features *fx = NULL;
    struct err le = {{0}};
    if (ok && dsp_features_create(&fx, &o->params, &le)) ok = 0;
    size_t dim = fx ? dsp_features_n_mfcc(fx) * dsp_features_frames(fx) : 0;
    float *xloc = malloc((nloc ? nloc : 1) * (dim ? dim : 1) * sizeof(float));
    int32_t *sloc = calloc(nloc ? nloc : 1, sizeof *sloc);
    char *rloc = calloc(nloc ? nloc : 1, REASON_LEN);
    if (!xloc || !sloc || !rloc) ok = 0;
    if (!all_ok(comm, ok)) {
        int rc = err_set(e, "rank %d: cannot set up extraction: %s", rank,
                         le.msg[0] ? le.msg : "out of memory");
        dsp_features_free(fx);
        free(xloc), free(sloc), free(rloc);
        dsp_corpus_free(&corpus);
        filelist_free(&fl);
        return rc;
    }
    struct dist_progress pg;
    dist_progress_start(&pg, "extract", "files", fl.n, rank == 0 && o->verbose);
    for (size_t i = 0; i < nloc; i++) {
        const char *path = fl.path[b + i];
        struct dsp_audio_info info;
        struct err fe = {{0}};
        if (dsp_audio_probe(path, &info, &fe) == 0 &&
            dsp_features_file(fx, path, xloc + i * dim, &fe) == 0) {
            sloc[i] = 1;
        } else {
            /* Messages start with the path; the skip list stores the reason alone. */
            const char *msg = fe.msg;
            size_t pl = strlen(path);
            if (strncmp(msg, path, pl) == 0 && msg[pl] == ':') msg += pl + 1 + (msg[pl + 1] == ' ');
            snprintf(rloc + i * REASON_LEN, REASON_LEN, "%.300s", msg);
        }
        /* Shards are equal in size, so rank 0's share estimates the whole. */
        size_t est = (i + 1) * (size_t)size;
        dist_progress_update(&pg, est < fl.n ? est : fl.n - 1);
    }
    dist_progress_end(&pg);
    dsp_features_free(fx);

    /* 4. Gather matrices, statuses and reasons (in samples, so counts stay small). */
    int root_only = !o->all_ranks;
    int *counts = malloc((size_t)size * sizeof *counts),
        *displs = malloc((size_t)size * sizeof *displs);
    size_t recv_n = (rank == 0 || !root_only) ? fl.n : 0;
    float *xall = malloc((recv_n ? recv_n : 1) * (dim ? dim : 1) * sizeof(float));
    int32_t *sall = malloc((recv_n ? recv_n : 1) * sizeof *sall);
    char *rall = malloc((recv_n ? recv_n : 1) * REASON_LEN);
    ok = counts && displs && xall && sall && rall;
    if (!all_ok(comm, ok)) {
        free(counts), free(displs), free(xall), free(sall), free(rall);
        free(xloc), free(sloc), free(rloc);
        dsp_corpus_free(&corpus);
        filelist_free(&fl);
        return err_set(e, "out of memory gathering features");
    }
    for (int r = 0; r < size; r++) {
        size_t rb, re;
        dist_shard(fl.n, size, r, &rb, &re);
        counts[r] = (int)(re - rb);
        displs[r] = (int)rb;
    }
    MPI_Datatype sample, reason;
    MPI_Type_contiguous((int)dim, MPI_FLOAT, &sample);
    MPI_Type_commit(&sample);
    MPI_Type_contiguous(REASON_LEN, MPI_CHAR, &reason);
    MPI_Type_commit(&reason);
    if (root_only) {
        MPI_Gatherv(xloc, (int)nloc, sample, xall, counts, displs, sample, 0, comm);
        MPI_Gatherv(sloc, (int)nloc, MPI_INT32_T, sall, counts, displs, MPI_INT32_T, 0, comm);
        MPI_Gatherv(rloc, (int)nloc, reason, rall, counts, displs, reason, 0, comm);
    } else {
        MPI_Allgatherv(xloc, (int)nloc, sample, xall, counts, displs, sample, comm);
        MPI_Allgatherv(sloc, (int)nloc, MPI_INT32_T, sall, counts, displs, MPI_INT32_T, comm);
        MPI_Allgatherv(rloc, (int)nloc, reason, rall, counts, displs, reason, comm);
    }
    MPI_Type_free(&sample);
    MPI_Type_free(&reason);
    free(counts), free(displs), free(xloc), free(sloc), free(rloc);

    /* 5. Assemble: usable files in list order; failures join the scan's skip list. */
    int rc = 0;
    if (recv_n) {
        size_t good = 0, bad = 0;
        for (size_t i = 0; i < fl.n; i++) sall[i] ? good++ : bad++;
        size_t nscan = rank == 0 ? corpus.n_skipped : 0;
        d->n = good;
        d->n_mfcc = (size_t)o->params.mfcc.n_mfcc;
        d->frames = dim / (d->n_mfcc ? d->n_mfcc : 1);
        d->params = o->params;
        d->cache_key = key;
        d->label = malloc((good ? good : 1) * sizeof *d->label);
        d->path = calloc(good ? good : 1, sizeof *d->path);
        d->speaker = calloc(good ? good : 1, sizeof *d->speaker);
        d->skip_path = calloc(nscan + bad + 1, sizeof *d->skip_path);
        d->skip_reason = calloc(nscan + bad + 1, sizeof *d->skip_reason);
        if (!d->label || !d->path || !d->speaker || !d->skip_path || !d->skip_reason) rc = -1;
        size_t k = 0;
        for (size_t i = 0; rc == 0 && i < fl.n; i++) {
            if (!sall[i]) continue;
            if (k != i) memmove(xall + k * dim, xall + i * dim, dim * sizeof(float));
            d->label[k] = fl.label[i];
            if (!(d->path[k] = xstrdup(fl.path[i])) || !(d->speaker[k] = xstrdup(fl.speaker[i])))
                rc = -1;
            k++;
        }
        d->x = xall;
        xall = NULL;
        /* Merge the two sorted skip lists (scan's and extraction's) by path. */
        size_t a = 0, z = 0, s = 0;
        while (rc == 0 && (a < nscan || z < fl.n)) {
            while (z < fl.n && sall[z]) z++;
            int take_scan;
            if (a < nscan && z < fl.n)
                take_scan = strcmp(corpus.skipped[a].path, fl.path[z]) < 0;
            else if (a < nscan)
                take_scan = 1;
            else if (z < fl.n)
                take_scan = 0;
            else
                break;
            const char *p = take_scan ? corpus.skipped[a].path : fl.path[z];
            const char *r = take_scan ? corpus.skipped[a].reason : rall + z * REASON_LEN;
            if (!(d->skip_path[s] = xstrdup(p)) || !(d->skip_reason[s] = xstrdup(r))) rc = -1;
            s++;
            if (take_scan)
                a++;
            else
                z++;
        }
        d->n_skipped = s;
        if (rc) err_set(e, "out of memory assembling features");
    }
    free(xall), free(sall), free(rall);
    dsp_corpus_free(&corpus);
    filelist_free(&fl);
    if (!all_ok(comm, rc == 0)) {
        dist_dataset_free(d);
        return rc ? -1 : err_set(e, "another rank ran out of memory");
    }

    double el = dist_now() - t0;
    if (rank == 0 && o->verbose)
        fprintf(stderr,
                "ser: extracted %zu files (%zu skipped) in %.2f s: %.1f files/s on %d rank%s\n",
                d->n, d->n_skipped, el, el > 0 ? (double)(d->n + d->n_skipped) / el : 0, size,
                size == 1 ? "" : "s");
    /* 6. Rank 0 writes the feature file. */
    int wrc = 0;
    if (rank == 0 && o->out && dist_dataset_save(d, o->out, e) != 0) wrc = 1;
    return wrc;
}

/* ---- ser extract ---- */

struct extract_cli {
    const char *data, *out;
    int force, quiet;
};

static const struct cli_opt extract_opts[] = {
    {"data", "DIR", "corpus directory (TESS layout) or CSV manifest (path,label[,speaker])"},
    {"out", "FILE", "feature file to write (reused when inputs and parameters are unchanged)"},
    {"force", NULL, "extract again even if FILE is up to date"},
    {"quiet", NULL, "no progress or summary output"},
};
enum { N_EXTRACT_OPTS = sizeof extract_opts / sizeof extract_opts[0] };

static int extract_apply(void *ctx, int i, const char *arg, struct err *e)
{
    struct extract_cli *c = ctx;
    (void)e;
    switch (i) {
    case 0:
        c->data = arg;
        break;
    case 1:
        c->out = arg;
        break;
    case 2:
        c->force = 1;
        break;
    case 3:
        c->quiet = 1;
        break;
    }
    return 0;
}

static void print_skipped(const struct dist_dataset *d)
{
    for (size_t i = 0; i < d->n_skipped; i++)
        fprintf(stderr, "skipped: %s: %s\n", d->skip_path[i], d->skip_reason[i]);
}

int cmd_extract(int argc, char **argv)
{
    struct extract_cli c = {0};
    int pos;
    const char *usage = "mpirun -np N ser extract --data DIR --out FILE [--force] [--quiet]";
    int r = cli_parse(argc, argv, usage,
                      "Extracts the 40 x 130 MFCC matrix of every usable file of a corpus (librosa "
                      "0.10 settings),\nsharded over the MPI ranks, into one compressed, "
                      "checksummed feature file.",
                      extract_opts, N_EXTRACT_OPTS, extract_apply, &c, &pos);
    if (r == CLI_HELP) return 0;
    if (r == CLI_ERROR) return 1;
    if (pos < argc || !c.data || !c.out) {
        fprintf(stderr, "ser extract: %s\nusage: %s\n",
                pos < argc ? "unexpected argument" : "--data and --out are required", usage);
        return 1;
    }
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    struct dist_extract_opts o = {
        .data = c.data, .out = c.out, .force = c.force, .verbose = !c.quiet};
    dsp_features_default_params(&o.params);
    struct dist_dataset d = {0};
    struct err e = {{0}};
    int rc = dist_extract(MPI_COMM_WORLD, &o, &d, &e);
    int code = 0;
    if (rc < 0) {
        if (rank == 0) fprintf(stderr, "ser extract: %s\n", e.msg);
        code = 1;
    } else if (rank == 0) {
        if (!c.quiet) print_skipped(&d);
        if (rc > 0) {
            fprintf(stderr, "ser extract: %s\n", e.msg);
            code = 2;
        } else if (!c.quiet) {
            fprintf(stderr, "ser: wrote %s: %zu files x %zu x %zu features\n", c.out, d.n, d.n_mfcc,
                    d.frames);
        }
    }
    dist_dataset_free(&d);
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return code;
}
