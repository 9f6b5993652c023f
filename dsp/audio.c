/* audio.c: libsndfile decoding (the only user of <sndfile.h>), probing of corpus files, and
 * the librosa-0.10-identical clip loader (see audio.h and ../shared/mfcc.md §1-2). */
#include "audio.h"

#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* libsndfile notes a header that claims more data than the file holds in its log and then
 * silently shortens the stream; we treat that as a damaged file. */
static int log_says_truncated(SNDFILE *f)
{
    char log[4096];
    sf_command(f, SFC_GET_LOG_INFO, log, sizeof log);
    return strstr(log, "runcat") != NULL || strstr(log, "> file length") != NULL ||
           strstr(log, "should be") != NULL;
}

int dsp_audio_probe(const char *path, struct dsp_audio_info *info, struct err *e)
{
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size == 0) return err_set(e, "%s: empty: 0 bytes", path);
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *f = sf_open(path, SFM_READ, &si);
    if (!f) return err_set(e, "%s: not a supported audio file: %s", path, sf_strerror(NULL));
    int rc = 0;
    if (si.frames <= 0 || si.channels <= 0 || si.samplerate <= 0) {
        rc = err_set(e, "%s: empty: no audio frames", path);
        goto out;
    }
    if (log_says_truncated(f)) {
        rc = err_set(e, "%s: truncated: the header promises more audio data than the file holds",
                     path);
        goto out;
    }
    enum { CHUNK = 4096 };
    float *buf = malloc(sizeof(float) * CHUNK * (size_t)si.channels);
    if (!buf) {
        rc = err_set(e, "%s: out of memory", path);
        goto out;
    }
    int64_t total = 0;
    for (;;) {
        sf_count_t got = sf_readf_float(f, buf, CHUNK);
        if (got <= 0) break;
        for (sf_count_t i = 0; i < got * si.channels; i++) {
            if (!isfinite(buf[i])) {
                rc = err_set(e, "%s: non-finite sample at frame %lld", path,
                             (long long)(total + i / si.channels));
                break;
            }
        }
        if (rc) break;
        total += got;
    }
    free(buf);
    if (rc == 0 && total != si.frames)
        rc = err_set(e, "%s: truncated: header says %lld frames, only %lld decodable", path,
                     (long long)si.frames, (long long)total);
    if (rc == 0) {
        info->sample_rate = si.samplerate;
        info->channels = si.channels;
        info->frames = total;
        info->format = si.format;
    }
out:
    sf_close(f);
    return rc;
}
