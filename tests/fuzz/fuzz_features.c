/* fuzz_features.c: the feature-file reader, dist_dataset_decode (mpi/dataset.h).
 *
 * Input: a whole feature file, or a bare payload wrapped into a valid "FEAT" container
 * (fuzz_util.h). A refused input must come with a message. An accepted dataset is read whole
 * (features [n][n_mfcc][frames], labels, paths, speakers, skipped files and reasons: ASan
 * sees any array shorter than its count), its values must be what the reader promises
 * (finite features, labels 0..8 and corpora in range, n_mfcc equal to mfcc.n_mfcc), and it must
 * survive a round trip: dist_dataset_encode, then dist_dataset_decode gives the same dataset. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/corpora.h"
#include "mpi/dataset.h"
#include "tests/fuzz/fuzz_util.h"

static size_t sink;

static void check_strings(char **a, char **b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(a[i], "%s[%zu] missing", what, i);
        sink += strlen(a[i]);
        if (b) FUZZ_CHECK(strcmp(a[i], b[i]) == 0, "round trip changed %s[%zu]", what, i);
    }
}

static void check_dataset(const struct dist_dataset *d)
{
    size_t nx = d->n * d->n_mfcc * d->frames;
    for (size_t i = 0; i < nx; i++) FUZZ_CHECK(isfinite(d->x[i]), "feature %zu not finite", i);
    for (size_t i = 0; i < d->n; i++)
        FUZZ_CHECK(d->label[i] >= 0 && d->label[i] < DSP_N_LABELS && d->corpus[i] >= 0 &&
                       d->corpus[i] < DSP_N_CORPORA,
                   "label %zu is %d, corpus %d", i, (int)d->label[i], (int)d->corpus[i]);
    FUZZ_CHECK(d->n_mfcc == (size_t)d->params.mfcc.n_mfcc, "n_mfcc %zu, params say %d", d->n_mfcc,
               d->params.mfcc.n_mfcc);
    check_strings(d->path, NULL, d->n, "path");
    check_strings(d->speaker, NULL, d->n, "speaker");
    check_strings(d->skip_path, NULL, d->n_skipped, "skip_path");
    check_strings(d->skip_reason, NULL, d->n_skipped, "skip_reason");
}

static void round_trip(const struct dist_dataset *d)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    struct err e = {0};
    struct dist_dataset r = {0};
    FUZZ_CHECK(dist_dataset_encode(d, 0, &buf, &len, &e) == 0,
               "an accepted dataset cannot be encoded again: %s", e.msg);
    FUZZ_CHECK(dist_dataset_decode(&r, buf, len, "round trip", &e) == 0,
               "the re-encoded dataset is refused: %s", e.msg);
    FUZZ_CHECK(r.n == d->n && r.n_mfcc == d->n_mfcc && r.frames == d->frames &&
                   r.n_skipped == d->n_skipped && r.cache_key == d->cache_key &&
                   dist_params_equal(&r.params, &d->params),
               "round trip changed the sizes or parameters");
    size_t nx = d->n * d->n_mfcc * d->frames;
    FUZZ_CHECK(memcmp(r.x, d->x, nx * sizeof *d->x) == 0, "round trip changed the features");
    FUZZ_CHECK(memcmp(r.label, d->label, d->n * sizeof *d->label) == 0, "labels changed");
    check_strings(r.path, d->path, d->n, "path");
    check_strings(r.speaker, d->speaker, d->n, "speaker");
    check_strings(r.skip_path, d->skip_path, d->n_skipped, "skip_path");
    check_strings(r.skip_reason, d->skip_reason, d->n_skipped, "skip_reason");
    dist_dataset_free(&r);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *owned;
    size_t len;
    const unsigned char *in = fuzz_as_pack(data, size, DIST_FEAT_KIND, &len, &owned);
    struct dist_dataset d = {0};
    struct err e = {0};
    int rc = dist_dataset_decode(&d, in, len, "fuzz", &e);
    fuzz_expect_valid(rc, e.msg);
    if (rc == 0) {
        check_dataset(&d);
        round_trip(&d);
    } else {
        FUZZ_CHECK(e.msg[0], "decode failed without a message");
    }
    dist_dataset_free(&d);
    free(owned);
    return 0;
}
