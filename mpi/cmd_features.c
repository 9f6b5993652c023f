/* cmd_features.c: `ser features FILE [--npy OUT.npy] [--signal OUT.npy]`: the MFCC matrix of
 * one audio file, as librosa 0.10's
 *   librosa.feature.mfcc(y=np.pad(librosa.load(FILE, sr=22050, offset=0.5, duration=3.0)[0],
 *                                 (0, 66150 - len(y))), sr=22050, n_mfcc=40)
 * (dsp/features.h, docs/mfcc.md). Default output: CSV on stdout, line i = coefficient i,
 * T comma-separated "%.9g" numbers (--feature-type logmel: the dB matrix; --deltas: 3 planes
 * of rows). --npy writes float32 (rows, T); --signal writes the
 * loaded, resampled, zero-padded float32 signal (for independent reference checks). No MPI.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mpi/cli.h"
#include "mpi/commands.h"
#include "dsp/features.h"
#include "mpi/dataset.h"
#include "mpi/npy.h"

struct features_opts {
    char npy[4096], signal[4096];
    struct dsp_features_params p;
    long n_mfcc;
    char feature_type[16];
    long n_mels;
    int deltas;
};

#define O(f) CLI_FIELD(struct features_opts, f)
static const struct cli_opt features_opts[] = {
    {"npy", CLI_STRING, O(npy), NULL, 0, 0, NULL, "OUT.npy",
     "write the matrix as float32 (n_mfcc, T) .npy instead of CSV on stdout", NULL, NULL, 0},
    {"signal", CLI_STRING, O(signal), NULL, 0, 0, NULL, "OUT.npy",
     "also write the loaded 22050 Hz signal (zero-padded) as float32 .npy", NULL, NULL, 0},
    {"offset", CLI_DOUBLE, O(p.load.offset_s), "0.5", 0, 1e6, NULL, "SECONDS",
     "start of the clip in the file", NULL, NULL, 0},
    {"duration", CLI_DOUBLE, O(p.load.duration_s), "3", 1e-3, 3600, NULL, "SECONDS",
     "clip length; shorter clips are zero-padded", NULL, NULL, 0},
    {"n-mfcc", CLI_LONG, O(n_mfcc), "40", 1, 128, NULL, "N", "MFCC coefficients", NULL, NULL, 0},
    DIST_FEATURE_OPTS(struct features_opts),
};

static const struct cli_table features_table = {
    "features",
    "ser features FILE [--npy OUT.npy] [--signal OUT.npy] [--offset S] [--duration S]\n"
    "                  [--feature-type mfcc|logmel] [--n-mels N] [--n-mfcc N] [--deltas]",
    "Prints the 40 x T MFCC matrix of one audio file (librosa 0.10: load(sr=22050, "
    "offset=0.5,\nduration=3.0), zero-padded to 3 s, mfcc(n_mfcc=40)) as CSV: line i = "
    "coefficient i.\n--feature-type logmel prints the n_mels x T dB matrix (power_to_db of the "
    "mel power\nspectrogram, top_db 80); --deltas appends the first and second deltas (librosa\n"
    "delta, width 9, mode interp) as rows F..2F-1 and 2F..3F-1.",
    features_opts,
    sizeof features_opts / sizeof features_opts[0],
    NULL,
    NULL,
    0};

int cmd_features(int argc, char **argv)
{
    struct features_opts o;
    dsp_features_default_params(&o.p);
    cli_defaults(&features_table, &o); /* sets only the fields in the table */
    int pos = 0;
    int rc = cli_parse(&features_table, argc, argv, &o, &pos);
    if (rc != CLI_OK) return cli_exit_code(rc);
    if (argc - pos != 1) {
        fprintf(stderr, "ser features: expected one FILE\nusage: %s\n", features_table.usage);
        return SER_EXIT_INPUT;
    }
    const char *path = argv[pos];

    struct err e = {0};
    struct dsp_features *f = NULL;
    float *out = NULL;
    int status = 0;
    o.p.mfcc.n_mfcc = (int)o.n_mfcc;
    if (dist_features_params_output(&o.p, o.feature_type, o.n_mels, o.deltas, &e) ||
        dsp_features_create(&f, &o.p, &e)) {
        fprintf(stderr, "ser features: %s\n", e.msg);
        return err_exit_code(&e);
    }
    const size_t nq = dsp_features_rows(f), T = dsp_features_frames(f);
    out = malloc(nq * T * sizeof *out);
    if (!out) {
        fprintf(stderr, "ser features: out of memory\n");
        status = 1;
        goto done;
    }
    if (dsp_features_file(f, path, out, &e)) {
        fprintf(stderr, "ser features: %s\n", e.msg);
        status = err_exit_code(&e);
        goto done;
    }
    if (o.signal[0]) {
        size_t n = 0;
        const float *y = dsp_features_signal(f, &n, NULL);
        if (dist_npy_write(o.signal, "<f4", 1, &n, y, &e)) {
            fprintf(stderr, "ser features: %s\n", e.msg);
            status = err_exit_code(&e);
            goto done;
        }
    }
    if (o.npy[0]) {
        const size_t shape[2] = {nq, T};
        if (dist_npy_write(o.npy, "<f4", 2, shape, out, &e)) {
            fprintf(stderr, "ser features: %s\n", e.msg);
            status = err_exit_code(&e);
        }
        goto done;
    }
    for (size_t q = 0; q < nq; q++)
        for (size_t t = 0; t < T; t++)
            printf("%.9g%c", (double)out[q * T + t], t + 1 < T ? ',' : '\n');
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ser features: cannot write to standard output\n");
        status = 2;
    }
done:
    free(out);
    dsp_features_free(f);
    return status;
}
