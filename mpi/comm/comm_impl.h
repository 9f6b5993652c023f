/* comm_impl.h: what the files of mpi/comm/ share about a communicator; never included
 * outside mpi/comm/ (the rest of ser sees struct dist_comm as opaque, see comm.h). */
#ifndef SER_DIST_COMM_IMPL_H
#define SER_DIST_COMM_IMPL_H

#include <mpi.h>

#include "mpi/comm/comm.h"

struct dist_comm {
    MPI_Comm comm;
    int rank, size;
    int node_size;  /* ranks on this node */
    double seconds; /* wall time spent in collectives */
};

/* Timing of a collective written in another file of the layer: t0 = dist_comm_enter();
 * ...; dist_comm_leave(c, t0). */
double dist_comm_enter(void);
void dist_comm_leave(struct dist_comm *c, double t0);

#endif
