/* comm.c: the MPI communication layer (see comm.h). */
#include "mpi/comm/comm_impl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Elements per MPI call: MPI counts are int. */
#define CHUNK (1 << 30)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int dist_comm_init(int *argc, char ***argv, struct dist_comm **world, struct err *e)
{
    *world = NULL;
    int started = 0;
    MPI_Initialized(&started);
    if (!started && MPI_Init(argc, argv) != MPI_SUCCESS) return err_set(e, "MPI_Init failed");
    struct dist_comm *c = calloc(1, sizeof *c);
    if (!c) return err_set(e, "out of memory");
    c->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    MPI_Comm node;
    c->node_size = 1;
    if (MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &c->node_size);
        MPI_Comm_free(&node);
    }
    *world = c;
    return 0;
}

void dist_comm_finalize(struct dist_comm *world)
{
    if (!world) return;
    free(world);
    MPI_Finalize();
}

int dist_comm_split(struct dist_comm *c, int color, struct dist_comm **group, struct err *e)
{
    *group = NULL;
    struct dist_comm *g = calloc(1, sizeof *g);
    if (!g) return err_set(e, "out of memory");
    if (MPI_Comm_split(c->comm, color, c->rank, &g->comm) != MPI_SUCCESS) {
        free(g);
        return err_set(e, "MPI_Comm_split failed");
    }
    MPI_Comm_rank(g->comm, &g->rank);
    MPI_Comm_size(g->comm, &g->size);
    g->node_size = c->node_size;
    *group = g;
    return 0;
}

void dist_comm_free(struct dist_comm *group)
{
    if (!group) return;
    MPI_Comm_free(&group->comm);
    free(group);
}

void dist_comm_abort(struct dist_comm *c, int code)
{
    MPI_Abort(c ? c->comm : MPI_COMM_WORLD, code);
    abort(); /* not reached */
}

int dist_comm_rank(const struct dist_comm *c)
{
    return c->rank;
}

int dist_comm_size(const struct dist_comm *c)
{
    return c->size;
}

int dist_comm_node_size(const struct dist_comm *c)
{
    return c->node_size;
}

double dist_comm_seconds(const struct dist_comm *c)
{
    return c->seconds;
}

double dist_comm_enter(void)
{
    return now();
}

void dist_comm_leave(struct dist_comm *c, double t0)
{
    c->seconds += now() - t0;
}

static void allreduce(struct dist_comm *c, void *buf, size_t n, size_t elem, MPI_Datatype t,
                      MPI_Op op)
{
    double t0 = now();
    unsigned char *p = buf;
    do {
        int k = n > CHUNK ? CHUNK : (int)n;
        MPI_Allreduce(MPI_IN_PLACE, p, k, t, op, c->comm);
        p += (size_t)k * elem;
        n -= (size_t)k;
    } while (n > 0);
    c->seconds += now() - t0;
}

void dist_sum_f32(struct dist_comm *c, float *buf, size_t n)
{
    allreduce(c, buf, n, sizeof *buf, MPI_FLOAT, MPI_SUM);
}

void dist_sum_i64(struct dist_comm *c, int64_t *buf, size_t n)
{
    allreduce(c, buf, n, sizeof *buf, MPI_INT64_T, MPI_SUM);
}

void dist_max_f64(struct dist_comm *c, double *buf, size_t n)
{
    allreduce(c, buf, n, sizeof *buf, MPI_DOUBLE, MPI_MAX);
}

void dist_bcast(struct dist_comm *c, void *buf, size_t bytes, int root)
{
    double t0 = now();
    unsigned char *p = buf;
    do {
        int k = bytes > CHUNK ? CHUNK : (int)bytes;
        MPI_Bcast(p, k, MPI_BYTE, root, c->comm);
        p += k;
        bytes -= (size_t)k;
    } while (bytes > 0);
    c->seconds += now() - t0;
}

int dist_agree(struct dist_comm *c, int code, struct err *e)
{
    /* [worst code, lowest failing rank (negated for MAX)] in one reduction. */
    double v[2] = {code, code ? -(double)c->rank : -(double)INT_MAX};
    dist_max_f64(c, v, 2);
    int worst = (int)v[0];
    if (worst == 0) return 0;
    int who = (int)-v[1];
    char msg[sizeof e->msg];
    memset(msg, 0, sizeof msg);
    if (c->rank == who && e) memcpy(msg, e->msg, sizeof msg);
    dist_bcast(c, msg, sizeof msg, who);
    if (code == 0 && e) {
        char line[sizeof e->msg];
        snprintf(line, sizeof line, "rank %d: %s", who, msg);
        memcpy(e->msg, line, sizeof line);
        e->code = worst;
    }
    return worst;
}

int dist_bcast_buffer(struct dist_comm *c, unsigned char **buf, size_t *len, int root,
                      struct err *e)
{
    uint64_t n = c->rank == root ? (uint64_t)*len : 0;
    dist_bcast(c, &n, sizeof n, root);
    int rc = 0;
    if (c->rank != root) {
        *len = (size_t)n;
        *buf = malloc(n ? (size_t)n : 1);
        if (!*buf) rc = err_set(e, "out of memory receiving %llu bytes", (unsigned long long)n);
    }
    if (dist_agree(c, rc ? SER_EXIT_IO : 0, e)) {
        if (c->rank != root) free(*buf), *buf = NULL;
        return -1;
    }
    dist_bcast(c, *buf, (size_t)n, root);
    return 0;
}

void dist_gather_records(struct dist_comm *c, const void *mine, void *all, const size_t *counts,
                         size_t rec_bytes, int root_only)
{
    /* One record = one derived datatype element, so the int counts stay small. */
    double t0 = now();
    int *cnt = malloc((size_t)c->size * sizeof *cnt), *dsp = malloc((size_t)c->size * sizeof *dsp);
    if (!cnt || !dsp) {
        free(cnt), free(dsp);
        MPI_Abort(c->comm, SER_EXIT_INPUT);
    }
    size_t off = 0;
    for (int r = 0; r < c->size; r++) {
        cnt[r] = (int)counts[r];
        dsp[r] = (int)off;
        off += counts[r];
    }
    MPI_Datatype rec;
    MPI_Type_contiguous((int)rec_bytes, MPI_BYTE, &rec);
    MPI_Type_commit(&rec);
    if (root_only)
        MPI_Gatherv(mine, cnt[c->rank], rec, all, cnt, dsp, rec, 0, c->comm);
    else
        MPI_Allgatherv(mine, cnt[c->rank], rec, all, cnt, dsp, rec, c->comm);
    MPI_Type_free(&rec);
    free(cnt);
    free(dsp);
    c->seconds += now() - t0;
}
