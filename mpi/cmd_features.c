/* cmd_features.c: `ser features FILE [--npy OUT.npy] [--signal OUT.npy]`: the MFCC matrix of
 * one audio file, as librosa 0.10's
 *   librosa.feature.mfcc(y=np.pad(librosa.load(FILE, sr=22050, offset=0.5, duration=3.0)[0],
 *                                 (0, 66150 - len(y))), sr=22050, n_mfcc=40)
 * (dsp/features.h, ../shared/mfcc.md). Default output: CSV on stdout, line i = coefficient i,
 * T comma-separated "%.9g" numbers. --npy writes float32 (n_mfcc, T); --signal writes the
 * loaded, resampled, zero-padded float32 signal (for independent reference checks). No MPI.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mpi/cli.h"
#include "mpi/commands.h"
#include "dsp/features.h"
#include "mpi/npy.h"

struct features_opts {
    const char *npy, *signal;
    struct dsp_features_params p;
};

static const struct cli_opt features_table[] = {
    {"npy", "OUT.npy", "write the matrix as float32 (n_mfcc, T) .npy instead of CSV on stdout"},
    {"signal", "OUT.npy", "also write the loaded 22050 Hz signal (zero-padded) as float32 .npy"},
    {"offset", "SECONDS", "start of the clip in the file (default: 0.5)"},
    {"duration", "SECONDS", "clip length; shorter clips are zero-padded (default: 3.0)"},
};
enum { FEATURES_NOPTS = sizeof features_table / sizeof features_table[0] };

static int features_apply(void *ctx, int index, const char *arg, struct err *e)
{
    struct features_opts *o = ctx;
    switch (index) {
    case 0:
        o->npy = arg;
        return 0;
    case 1:
        o->signal = arg;
        return 0;
    case 2:
        return cli_double("offset", arg, 0.0, 1e6, &o->p.load.offset_s, e);
    case 3:
        if (cli_double("duration", arg, 1e-3, 3600.0, &o->p.load.duration_s, e)) return -1;
        return 0;
    default:
        return err_set(e, "internal error: option %d", index);
    }
}

static const char FEATURES_USAGE[] = "ser features FILE [--npy OUT.npy] [--signal OUT.npy]";
static const char FEATURES_SUMMARY[] =
    "Prints the 40 x T MFCC matrix of one audio file (librosa 0.10: load(sr=22050, offset=0.5,\n"
    "duration=3.0), zero-padded to 3 s, mfcc(n_mfcc=40)) as CSV: line i = coefficient i.";

int cmd_features(int argc, char **argv)
{
    struct features_opts o = {0};
    dsp_features_default_params(&o.p);
    /* Options may come before or after FILE: parse, take FILE, parse the rest. */
    int pos = 0;
    int rc = cli_parse(argc, argv, FEATURES_USAGE, FEATURES_SUMMARY, features_table, FEATURES_NOPTS,
                       features_apply, &o, &pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 1;
    if (pos >= argc) {
        fprintf(stderr, "%s: missing FILE\nusage: %s\n", argv[0], FEATURES_USAGE);
        return 1;
    }
    const char *path = argv[pos];
    if (pos + 1 < argc) {
        char **rest = malloc(sizeof *rest * (size_t)(argc - pos + 1));
        if (!rest) {
            fprintf(stderr, "%s: out of memory\n", argv[0]);
            return 1;
        }
        rest[0] = argv[0];
        for (int i = pos + 1; i < argc; i++) rest[i - pos] = argv[i];
        rest[argc - pos] = NULL;
        int pos2 = 0;
        rc = cli_parse(argc - pos, rest, FEATURES_USAGE, FEATURES_SUMMARY, features_table,
                       FEATURES_NOPTS, features_apply, &o, &pos2);
        int extra = pos2 < argc - pos;
        free(rest);
        if (rc == CLI_HELP) return 0;
        if (rc != CLI_OK) return 1;
        if (extra) {
            fprintf(stderr, "%s: expected one FILE\nusage: %s\n", argv[0], FEATURES_USAGE);
            return 1;
        }
    }

    struct err e = {{0}};
    struct dsp_features *f = NULL;
    float *out = NULL;
    int status = 0;
    if (dsp_features_create(&f, &o.p, &e)) {
        fprintf(stderr, "%s: %s\n", argv[0], e.msg);
        return 1;
    }
    const size_t nq = dsp_features_n_mfcc(f), T = dsp_features_frames(f);
    out = malloc(nq * T * sizeof *out);
    if (!out) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        status = 1;
        goto done;
    }
    if (dsp_features_file(f, path, out, &e)) {
        fprintf(stderr, "%s: %s\n", argv[0], e.msg);
        status = 1;
        goto done;
    }
    if (o.signal) {
        size_t n = 0;
        const float *y = dsp_features_signal(f, &n, NULL);
        if (dist_npy_write(o.signal, "<f4", 1, &n, y, &e)) {
            fprintf(stderr, "%s: %s\n", argv[0], e.msg);
            status = 2;
            goto done;
        }
    }
    if (o.npy) {
        const size_t shape[2] = {nq, T};
        if (dist_npy_write(o.npy, "<f4", 2, shape, out, &e)) {
            fprintf(stderr, "%s: %s\n", argv[0], e.msg);
            status = 2;
        }
        goto done;
    }
    for (size_t q = 0; q < nq; q++)
        for (size_t t = 0; t < T; t++)
            printf("%.9g%c", (double)out[q * T + t], t + 1 < T ? ',' : '\n');
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write to standard output\n", argv[0]);
        status = 2;
    }
done:
    free(out);
    dsp_features_free(f);
    return status;
}
