/* memory.c: memory estimates against a limit (see memory.h). */
#include "mpi/memory.h"

#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

double dist_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0;
}

int dist_parse_bytes(const char *s, double *bytes, struct err *e)
{
    char *end;
    double v = strtod(s, &end);
    double unit = 1;
    switch (*end) {
    case 'K':
        unit = 1024.0, end++;
        break;
    case 'M':
        unit = 1024.0 * 1024, end++;
        break;
    case 'G':
        unit = 1024.0 * 1024 * 1024, end++;
        break;
    case 'T':
        unit = 1024.0 * 1024 * 1024 * 1024, end++;
        break;
    }
    if (end == s || *end || !isfinite(v) || !(v > 0) || v * unit > 1e18)
        return err_set(e, "expected a size such as 512M, 4G or 1.5T, got '%s'", s);
    *bytes = v * unit;
    return 0;
}

void dist_format_bytes(double b, char *buf, size_t n)
{
    const char *u[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
    int k = 0;
    while (b >= 1024 && k < 5) b /= 1024, k++;
    snprintf(buf, n, k ? "%.2f %s" : "%.0f %s", b, u[k]);
}

double dist_memory_limit(double limit, int ranks_here)
{
    if (limit > 0) return limit;
    double phys = dist_physical_memory();
    return phys > 0 ? 0.8 * phys / (ranks_here > 0 ? ranks_here : 1) : INFINITY;
}

int dist_memory_check(double need, double limit, const char *what, const char *detail,
                      struct err *e)
{
    if (need <= limit) return 0;
    char a[32], b[32];
    dist_format_bytes(need, a, sizeof a);
    dist_format_bytes(limit, b, sizeof b);
    return err_set(e,
                   "%s needs an estimated %s per rank (%s), more than --max-memory %s: choose a "
                   "smaller model or batch, or raise --max-memory",
                   what, a, detail, b);
}

int dist_model_fits(const char *spec, size_t in_channels, size_t in_len, size_t n_classes,
                    size_t max_batch, struct err *e)
{
    struct nn_model_cost c;
    if (nn_model_estimate(spec, in_channels, in_len, n_classes, max_batch, &c, e)) return -1;
    char detail[64];
    snprintf(detail, sizeof detail, "%zu parameters", c.nparams);
    return dist_memory_check((double)c.total_bytes, dist_memory_limit(0, 1), "the model", detail,
                             e);
}
