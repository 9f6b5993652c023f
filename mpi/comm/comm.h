/* comm.h: ser's communication layer, the only code that talks MPI (the C files in mpi/comm/
 * are the only ones that include <mpi.h>). Everything else in ser sees a communicator as an opaque
 * struct dist_comm and calls these functions, so the command-line tool, file formats,
 * reports and the training loop are plain C that a reader can follow without knowing MPI.
 *
 * Contracts:
 *  - Collectives must be called by every rank of the communicator, in the same order, with
 *    the same sizes (the MPI rule); buffers may hold more than INT_MAX elements (they are
 *    sent in chunks).
 *  - Errors inside MPI abort the job (MPI's default error handler): a collective that fails
 *    on one rank cannot be recovered on the others.
 *  - dist_comm_seconds() counts the wall time this rank spent inside collectives, so callers
 *    measure communication without timing code of their own.
 */
#ifndef SER_DIST_COMM_H
#define SER_DIST_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "ser/err.h"

struct dist_comm; /* opaque */

/* Starts MPI (once per process) and returns the world communicator in *world (owned by the
 * layer: release with dist_comm_finalize). Returns 0, or -1 with e filled. */
int dist_comm_init(int *argc, char ***argv, struct dist_comm **world, struct err *e);
/* Ends MPI. Accepts NULL (then does nothing). */
void dist_comm_finalize(struct dist_comm *world);
/* Stops every rank of the job at once with exit status code (when ranks cannot agree any
 * more, e.g. one rank failed inside a collective sequence). Does not return. */
void dist_comm_abort(struct dist_comm *c, int code);

/* Splits c into groups: ranks with the same color form one communicator, ordered by their
 * rank in c (collective over c). The group keeps c's node size (memory is shared by every
 * rank of the node, whatever its group). Release with dist_comm_free. Returns 0, or -1
 * with e. */
int dist_comm_split(struct dist_comm *c, int color, struct dist_comm **group, struct err *e);
/* Frees a communicator made by dist_comm_split (collective over it). Accepts NULL. */
void dist_comm_free(struct dist_comm *group);

int dist_comm_rank(const struct dist_comm *c);
int dist_comm_size(const struct dist_comm *c);
/* Ranks of c that run on this node (share its memory), this one included. */
int dist_comm_node_size(const struct dist_comm *c);
/* Wall seconds this rank spent in collectives of c since it was created. */
double dist_comm_seconds(const struct dist_comm *c);

/* ---- collectives (in place, every rank gets the result) ---- */
void dist_sum_f32(struct dist_comm *c, float *buf, size_t n);
void dist_sum_i64(struct dist_comm *c, int64_t *buf, size_t n);
void dist_max_f64(struct dist_comm *c, double *buf, size_t n);
/* Broadcasts `bytes` bytes of buf from rank `root`. */
void dist_bcast(struct dist_comm *c, void *buf, size_t bytes, int root);

/* Agreement on success: every rank passes its own status (0 ok, else an exit code with e
 * filled). Returns the largest code of all ranks on every rank; when some rank failed, e on
 * every rank that did not fail itself gets the lowest failing rank's message prefixed with
 * "rank R: ", so the reason is never lost behind "failed on another rank". */
int dist_agree(struct dist_comm *c, int code, struct err *e);

/* Rank root's malloc'd byte buffer to every rank: on rank root *buf/ *len are the input
 * (unchanged); elsewhere *buf receives a malloc'd copy (caller frees). Returns 0 or -1 on
 * every rank (out of memory on some rank), with e filled. */
int dist_bcast_buffer(struct dist_comm *c, unsigned char **buf, size_t *len, int root,
                      struct err *e);

/* Gathers equal-sized records: rank r contributes count[r] records of rec_bytes bytes each
 * (its own in `mine`), placed in rank order into `all` ([sum of counts] records) on every
 * rank, or only on rank 0 when root_only. counts[] must be the same on every rank. */
void dist_gather_records(struct dist_comm *c, const void *mine, void *all, const size_t *counts,
                         size_t rec_bytes, int root_only);

#endif
