/* audio.h: decoding audio files (libsndfile) and loading clips exactly as librosa 0.10's
 * `librosa.load(path, sr=22050, offset=0.5, duration=3.0)` does (see ../shared/mfcc.md §1-2).
 * dsp/audio.c is the only file that includes <sndfile.h>.
 */
#ifndef SER_DSP_AUDIO_H
#define SER_DSP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct dsp_audio_info {
    int sample_rate;  /* Hz, as stored in the file */
    int channels;
    int64_t frames;   /* frames actually decodable */
    int format;       /* libsndfile SF_FORMAT_* (container | subtype) */
};

/* Opens `path` with libsndfile and decodes every frame, so that unreadable, empty (no
 * frames), truncated (header promises more data than the file holds) and otherwise damaged
 * files are found before training. Returns 0 and fills *info, or -1 with e naming the file
 * and the problem ("empty: no audio frames", "truncated: header says N frames, file holds M",
 * "not a supported audio file: <libsndfile message>", "non-finite sample at frame N"). */
int dsp_audio_probe(const char *path, struct dsp_audio_info *info, struct err *e);

#endif
