/* extract.h: sharded feature extraction of a corpus over MPI ranks, with a feature cache.
 *
 * Rank 0 scans the corpus (dsp_scan, names only) and broadcasts the sorted file list; every
 * rank probes and extracts its contiguous shard (dist_shard) with one dsp_features context;
 * the matrices are gathered (to rank 0, or to every rank with all_ranks), failures become
 * skipped files with their reasons, and rank 0 writes the feature file. A feature file whose
 * cache key (parameters + every scanned path with its size and mtime) matches is reused
 * instead. The result is identical whatever the number of ranks.
 */
#ifndef SER_EXTRACT_H
#define SER_EXTRACT_H

#include "mpi/comm/comm.h"
#include "dsp/scan.h"
#include "mpi/dataset.h"

struct dist_extract_opts {
    const char *const *data; /* [n_data] corpus directories or CSV manifests (merged) */
    int n_data;
    struct dsp_scan_opts scan; /* corpus naming (forced or per file), RAVDESS songs */
    const char *out;           /* feature file to reuse/write (NULL: neither) */
    int force;                 /* ignore a valid cache */
    int all_ranks;             /* every rank receives the whole dataset (training) */
    int verbose;               /* rank 0 prints progress and a summary on stderr */
    uint64_t expect_list;      /* not 0: refuse, before extracting, a corpus whose file list has
                                  another hash (a resumed run's data must be its own) */
    struct dsp_features_params params;
};

/* Collective over comm. Fills d (zeroed by the caller) on rank 0, and on every rank if
 * all_ranks. Returns 0, or -1 on every rank (rank 0's e holds the reason, others say that
 * another rank failed). Failing to write the feature file is reported in e with return 1
 * (the dataset is still valid). */
int dist_extract(struct dist_comm *comm, const struct dist_extract_opts *o, struct dist_dataset *d,
                 struct err *e);

#endif
