/* memory.h: refusing work that cannot fit in memory before allocating it. A model spec can
 * ask for tens of gigabytes (`flatten dense:65536 dense:65536 dense:7`); ser estimates what a
 * run will allocate per rank (nn_model_estimate plus the trainer's own buffers) and refuses
 * above --max-memory, whose default is 80% of the machine's physical memory shared by the
 * ranks on it, with the estimate in the message. */
#ifndef SER_DIST_MEMORY_H
#define SER_DIST_MEMORY_H

#include <stddef.h>

#include "ser/err.h"

/* Physical memory of this machine in bytes (0 if unknown). */
double dist_physical_memory(void);
/* "123456", "512K", "64M", "4G", "1.5T" (powers of 1024) -> bytes; > 0. */
int dist_parse_bytes(const char *s, double *bytes, struct err *e);
/* "1.50 GB" style (powers of 1024). */
void dist_format_bytes(double bytes, char *buf, size_t n);
/* The limit for one of `ranks_here` ranks on this machine: `limit` if > 0, else 80% of the
 * physical memory / ranks_here (no limit when that is unknown). */
double dist_memory_limit(double limit, int ranks_here);
/* 0 if need <= limit, else -1 with e: "<what> needs an estimated X (detail), more than
 * --max-memory Y: ...". */
int dist_memory_check(double need, double limit, const char *what, const char *detail,
                      struct err *e);

/* The model a spec (string or file) describes, at max_batch, against the default limit for
 * one process: 0, or -1 with e (a spec error, or the estimate over the limit). */
int dist_model_fits(const char *spec, size_t in_channels, size_t in_len, size_t n_classes,
                    size_t max_batch, struct err *e);

#endif
