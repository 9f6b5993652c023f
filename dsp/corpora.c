/* corpora.c: labels, the table of corpora and their file-name parsers (see corpora.h). */
#include "dsp/corpora.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *const dsp_label_names[DSP_N_LABELS] = {"angry", "disgust",  "fear", "happy",  "neutral",
                                                   "sad",   "surprise", "calm", "boredom"};

const char *const dsp_corpus_names[DSP_N_CORPORA] = {"tess",  "ravdess", "cremad",
                                                     "savee", "emodb",   "other"};

int dsp_label_index(const char *name)
{
    static const struct {
        const char *alias;
        int label;
    } aliases[] = {{"ps", DSP_SURPRISE},
                   {"pleasant_surprise", DSP_SURPRISE},
                   {"pleasant_surprised", DSP_SURPRISE},
                   {"surprised", DSP_SURPRISE},
                   {"fearful", DSP_FEAR},
                   {"anger", DSP_ANGRY},
                   {"happiness", DSP_HAPPY},
                   {"sadness", DSP_SAD},
                   {"bored", DSP_BOREDOM}};
    if (!name) return -1;
    for (int i = 0; i < DSP_N_LABELS; i++)
        if (strcasecmp(name, dsp_label_names[i]) == 0) return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].alias) == 0) return aliases[i].label;
    return -1;
}

int dsp_corpus_index(const char *name)
{
    if (name && strcasecmp(name, "crema-d") == 0) return DSP_CREMAD;
    for (int i = 0; name && i < DSP_N_CORPORA; i++)
        if (strcasecmp(name, dsp_corpus_names[i]) == 0) return i;
    return -1;
}

/* ---- helpers ---- */

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static int set_speaker(struct dsp_name *n, int corpus, const char *id, size_t len)
{
    if (len == 0 || len + strlen(dsp_corpus_names[corpus]) + 2 > sizeof n->speaker) return 0;
    snprintf(n->speaker, sizeof n->speaker, "%s:%.*s", dsp_corpus_names[corpus], (int)len, id);
    n->corpus = corpus;
    return 1;
}

/* ---- RAVDESS: MM-VV-EE-II-SS-RR-AA ---- */

static int ravdess(const char *stem, size_t len, const char *ext, const char *folder,
                   size_t folder_len, const struct dsp_name_opts *o, struct dsp_name *n)
{
    static const int label_of[9] = {-1,        DSP_NEUTRAL, DSP_CALM,    DSP_HAPPY,   DSP_SAD,
                                    DSP_ANGRY, DSP_FEAR,    DSP_DISGUST, DSP_SURPRISE};
    (void)folder, (void)folder_len;
    if (len != 20) return -1;
    int f[7];
    for (int i = 0; i < 7; i++) {
        if (!digits(stem + 3 * i, 2) || (i < 6 && stem[3 * i + 2] != '-')) return -1;
        f[i] = num2(stem + 3 * i);
    }
    if (f[0] < 1 || f[0] > 3 || f[1] < 1 || f[1] > 2 || f[2] < 1 || f[2] > 8 || f[3] < 1 ||
        f[3] > 2 || f[4] < 1 || f[4] > 2 || f[5] < 1 || f[5] > 2 || f[6] < 1 || f[6] > 24)
        return -1;
    set_speaker(n, DSP_RAVDESS, stem + 18, 2);
    n->gender = f[6] % 2 ? 'm' : 'f';
    snprintf(n->word, sizeof n->word, "%.17s", stem);
    n->label = label_of[f[2]];
    if (strcasecmp(ext, "mp4") == 0 || f[0] != 3) {
        snprintf(n->reason, sizeof n->reason,
                 "video: RAVDESS modality %02d (audio-visual or video-only): ser reads the "
                 "audio-only files (modality 03)",
                 f[0]);
        n->label = -1;
    } else if (f[1] == 2 && !o->ravdess_song) {
        snprintf(n->reason, sizeof n->reason,
                 "song: RAVDESS vocal channel 02 (song); use --ravdess-song to train on songs");
        n->label = -1;
    }
    return 1;
}

/* ---- CREMA-D: AAAA_SSS_EEE_LL ---- */

/* Sex of actors 1001..1091 (the corpus's VideoDemographics.csv). */
static const char cremad_sex[] = "MFFFMFFFFF"
                                 "MFFMMMMFMF"
                                 "FMMFFMMFFF"
                                 "MMMMMMFMMM"
                                 "MMFMMFFMFM"
                                 "MFFFFFMFMF"
                                 "FMFMMMMMMM"
                                 "MFFFFFMFFM"
                                 "MFMFMMMMFM"
                                 "F";

static int cremad(const char *stem, size_t len, const char *ext, const char *folder,
                  size_t folder_len, const struct dsp_name_opts *o, struct dsp_name *n)
{
    static const char *const emo[6] = {"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"};
    static const int label_of[6] = {DSP_ANGRY, DSP_DISGUST, DSP_FEAR,
                                    DSP_HAPPY, DSP_NEUTRAL, DSP_SAD};
    static const char *const levels[4] = {"LO", "MD", "HI", "XX"};
    (void)ext, (void)folder, (void)folder_len, (void)o;
    if (len != 15 || !digits(stem, 4) || stem[4] != '_' || stem[8] != '_' || stem[12] != '_')
        return -1;
    for (int i = 5; i < 8; i++)
        if (!isupper((unsigned char)stem[i])) return -1;
    int actor = (stem[0] - '0') * 1000 + (stem[1] - '0') * 100 + num2(stem + 2);
    int e = -1, l = -1;
    for (int i = 0; i < 6; i++)
        if (strncmp(stem + 9, emo[i], 3) == 0) e = i;
    for (int i = 0; i < 4; i++)
        if (strncmp(stem + 13, levels[i], 2) == 0) l = i;
    if (actor < 1001 || actor > 1091 || e < 0 || l < 0) return -1;
    set_speaker(n, DSP_CREMAD, stem, 4);
    n->gender = cremad_sex[actor - 1001] == 'M' ? 'm' : 'f';
    snprintf(n->word, sizeof n->word, "%.3s_%.2s", stem + 5, stem + 13);
    n->label = label_of[e];
    return 1;
}

/* ---- SAVEE: DC_a01 or DC/a01 ---- */

static int savee_speaker(const char *s, size_t len)
{
    static const char *const spk[4] = {"DC", "JE", "JK", "KL"};
    for (int i = 0; i < 4; i++)
        if (len == 2 && strncmp(s, spk[i], 2) == 0) return i;
    return -1;
}

static int savee(const char *stem, size_t len, const char *ext, const char *folder,
                 size_t folder_len, const struct dsp_name_opts *o, struct dsp_name *n)
{
    static const struct {
        const char *code;
        int label;
    } emo[] = {{"sa", DSP_SAD}, {"su", DSP_SURPRISE}, {"a", DSP_ANGRY},  {"d", DSP_DISGUST},
               {"f", DSP_FEAR}, {"h", DSP_HAPPY},     {"n", DSP_NEUTRAL}};
    (void)ext, (void)o;
    const char *spk = folder, *rest = stem;
    size_t spk_len = folder_len;
    if (len > 3 && stem[2] == '_' && savee_speaker(stem, 2) >= 0) {
        spk = stem, spk_len = 2, rest = stem + 3;
    } else if (savee_speaker(folder, folder_len) < 0) {
        return -1;
    }
    size_t rl = len - (size_t)(rest - stem);
    for (size_t i = 0; i < sizeof emo / sizeof emo[0]; i++) {
        size_t cl = strlen(emo[i].code);
        if (rl == cl + 2 && strncmp(rest, emo[i].code, cl) == 0 && digits(rest + cl, 2)) {
            set_speaker(n, DSP_SAVEE, spk, spk_len);
            n->gender = 'm';
            snprintf(n->word, sizeof n->word, "%.*s", (int)rl, rest);
            n->label = emo[i].label;
            return 1;
        }
    }
    return -1;
}

/* ---- EmoDB: SSTTTEV ---- */

static int emodb(const char *stem, size_t len, const char *ext, const char *folder,
                 size_t folder_len, const struct dsp_name_opts *o, struct dsp_name *n)
{
    static const char letters[] = "WLEAFTN";
    static const int label_of[7] = {DSP_ANGRY, DSP_BOREDOM, DSP_DISGUST, DSP_FEAR,
                                    DSP_HAPPY, DSP_SAD,     DSP_NEUTRAL};
    static const char *const speakers = "03m08f09f10m11m12m13f14f15m16f";
    (void)ext, (void)folder, (void)folder_len, (void)o;
    if (len != 7 || !digits(stem, 2) || (stem[2] != 'a' && stem[2] != 'b') ||
        !digits(stem + 3, 2) || !islower((unsigned char)stem[6]))
        return -1;
    const char *l = strchr(letters, stem[5]);
    if (!l || !stem[5]) return -1;
    for (const char *s = speakers; *s; s += 3) {
        if (strncmp(s, stem, 2) != 0) continue;
        set_speaker(n, DSP_EMODB, stem, 2);
        n->gender = s[2];
        snprintf(n->word, sizeof n->word, "%.3s%c", stem + 2, stem[6]);
        n->label = label_of[l - letters];
        return 1;
    }
    return -1;
}

/* ---- TESS: SPEAKER_WORD_EMOTION, speaker also from a SPEAKER_EMOTION folder ---- */

/* Is folder SPEAKER_EMOTION? Then its SPEAKER length. */
static size_t folder_speaker(const char *folder, size_t len)
{
    const char *us = memchr(folder, '_', len);
    char rest[64];
    size_t rl = us ? len - (size_t)(us + 1 - folder) : 0;
    if (!us || us == folder || rl == 0 || rl >= sizeof rest) return 0;
    memcpy(rest, us + 1, rl);
    rest[rl] = 0;
    return dsp_label_index(rest) >= 0 ? (size_t)(us - folder) : 0;
}

static int tess(const char *stem, size_t len, const char *ext, const char *folder,
                size_t folder_len, const struct dsp_name_opts *o, struct dsp_name *n)
{
    (void)ext, (void)o;
    const char *first = memchr(stem, '_', len), *last = first;
    if (!first) {
        snprintf(n->reason, sizeof n->reason,
                 "unlabelled: the name matches no corpus (TESS SPEAKER_WORD_EMOTION, RAVDESS "
                 "03-01-05-01-01-01-12, CREMA-D 1001_DFA_ANG_XX, SAVEE DC_a01, EmoDB 03a01Fa)");
        return 0;
    }
    for (const char *p = first; p < stem + len; p++)
        if (*p == '_') last = p;
    char label[64];
    size_t ll = (size_t)(stem + len - last - 1);
    snprintf(label, sizeof label, "%.*s", (int)(ll < 63 ? ll : 63), last + 1);
    n->corpus = DSP_TESS;
    n->gender = 'f';
    n->label = ll < 63 ? dsp_label_index(label) : -1;
    if (n->label < 0) {
        snprintf(n->reason, sizeof n->reason,
                 "unlabelled: '%.64s' is not a label, and the name matches no other corpus "
                 "naming",
                 label);
        return 0;
    }
    /* word: the middle field(s), or the first of two; speaker: the file's or the folder's */
    const char *w = first != last ? first + 1 : stem;
    size_t wl = (size_t)((first != last ? last : first) - w);
    snprintf(n->word, sizeof n->word, "%.*s", (int)wl, w);
    size_t fl = first != last ? (size_t)(first - stem) : 0, dl = folder_speaker(folder, folder_len);
    const char *spk = "unknown";
    size_t sl = 7;
    int known = 1;
    if (fl && (!dl || (fl == dl && strncasecmp(stem, folder, fl) == 0)))
        spk = stem, sl = fl;
    else if (dl)
        spk = folder, sl = dl;
    else
        known = 0;
    if (!set_speaker(n, DSP_TESS, spk, sl)) {
        snprintf(n->reason, sizeof n->reason, "unlabelled: speaker name too long");
        n->label = -1;
        return 0;
    }
    for (char *p = n->speaker + 5; known && *p; p++) *p = (char)toupper((unsigned char)*p);
    return 1;
}

/* ---- the table ---- */

typedef int (*name_parser)(const char *stem, size_t len, const char *ext, const char *folder,
                           size_t folder_len, const struct dsp_name_opts *o, struct dsp_name *n);

/* In recognition order: the strict namings first, TESS's loose one last. */
static const struct {
    int corpus;
    name_parser parse;
} parsers[] = {{DSP_RAVDESS, ravdess},
               {DSP_CREMAD, cremad},
               {DSP_EMODB, emodb},
               {DSP_SAVEE, savee},
               {DSP_TESS, tess}};

int dsp_parse_name(const char *name, const char *folder, size_t folder_len,
                   const struct dsp_name_opts *o, struct dsp_name *n)
{
    memset(n, 0, sizeof *n);
    n->label = -1;
    n->gender = '?';
    const char *dot = strrchr(name, '.');
    size_t len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    const char *ext = dot && dot != name ? dot + 1 : "";
    for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++) {
        if (o->corpus >= 0 && parsers[i].corpus != o->corpus) continue;
        int rc = parsers[i].parse(name, len, ext, folder, folder_len, o, n);
        if (rc >= 0) return rc && n->label >= 0;
        memset(n, 0, sizeof *n);
        n->label = -1;
        n->gender = '?';
    }
    snprintf(n->reason, sizeof n->reason, "unlabelled: not a %s file name",
             o->corpus >= 0 ? dsp_corpus_names[o->corpus] : "known corpus");
    return 0;
}
