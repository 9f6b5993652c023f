/* scan.c: corpus scanning (directory trees and CSV manifests) and TESS file-name parsing.
 * The rules (labels, speaker derivation, duplicates, ignored files, ordering) are documented
 * in scan.h; they match the naming of both TESS releases (docs/corpus.md §9).
 *
 * Layout: the walk (or the CSV reader) collects candidates with parsed names; candidates are
 * then sorted by their duplicate key and path, and in each key group the copies are tried in
 * path order, so only the first copy that decodes is kept (and only it, or the damaged copies
 * before it, are validated). Items and skips are finally sorted by path with strcmp.
 */
#include "dsp/scan.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dsp/audio.h"

const char *const dsp_label_names[DSP_N_LABELS] = {"angry",   "disgust", "fear", "happy",
                                                   "neutral", "ps",      "sad"};

int dsp_label_index(const char *token)
{
    if (!token) return -1;
    for (int i = 0; i < DSP_N_LABELS; i++)
        if (strcasecmp(token, dsp_label_names[i]) == 0) return i;
    return -1;
}

void dsp_corpus_free(struct dsp_corpus *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].path);
        free(c->items[i].speaker);
        free(c->items[i].word);
    }
    for (size_t i = 0; i < c->n_skipped; i++) {
        free(c->skipped[i].path);
        free(c->skipped[i].reason);
    }
    free(c->items);
    free(c->skipped);
    memset(c, 0, sizeof *c);
}

/* ---- small string helpers (all return NULL on out of memory) ---- */

static char *str_ndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *str_dup(const char *s)
{
    return str_ndup(s, strlen(s));
}

/* a joined with b by one '/' (none added when a is empty or already ends in '/'). */
static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *p = malloc(la + (size_t)slash + lb + 1);
    if (!p) return NULL;
    memcpy(p, a, la);
    if (slash) p[la] = '/';
    memcpy(p + la + (size_t)slash, b, lb + 1);
    return p;
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 'a' + 'A');
}

/* The last path component (after trailing slashes are ignored), as [*start, *start + len). */
static void base_name(const char *path, const char **start, size_t *len)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/') end--;
    size_t b = end;
    while (b > 0 && path[b - 1] != '/') b--;
    *start = path + b;
    *len = end - b;
}

static int has_audio_ext(const char *name)
{
    static const char *const exts[] = {"wav", "flac", "ogg", "oga", "aiff", "aif", "au"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot + 1, exts[i]) == 0) return 1;
    return 0;
}

/* ---- file-name parsing ---- */

/* Folder named SPEAKER_EMOTION? Then *spk (malloc'd, upper-cased) is SPEAKER. Returns 1 yes,
 * 0 no, -1 out of memory. */
static int folder_speaker(const char *folder, size_t len, char **spk)
{
    static const char *const emotions[] = {"pleasant_surprise", "pleasant_surprised", "surprise",
                                           "surprised"};
    *spk = NULL;
    const char *us = memchr(folder, '_', len);
    if (!us || us == folder) return 0;
    char *rest = str_ndup(us + 1, len - (size_t)(us + 1 - folder));
    if (!rest) return -1;
    int ok = dsp_label_index(rest) >= 0;
    for (size_t i = 0; !ok && i < sizeof emotions / sizeof emotions[0]; i++)
        ok = strcasecmp(rest, emotions[i]) == 0;
    free(rest);
    if (!ok) return 0;
    *spk = str_ndup(folder, (size_t)(us - folder));
    if (!*spk) return -1;
    upper(*spk);
    return 1;
}

struct parsed {
    char *speaker; /* malloc'd */
    char *word;    /* malloc'd */
    int label;     /* -1 when the label field is missing or unknown */
    char reason[256];
};

/* Parses file name `name` (no directories) found in folder `folder` (its last component, may be
 * empty). Fills p->speaker, p->word, p->label; p->label < 0 comes with p->reason. Returns 0, or
 * -1 out of memory (p's strings freed). */
static int parse_name(const char *name, const char *folder, size_t folder_len, struct parsed *p)
{
    memset(p, 0, sizeof *p);
    p->label = -1;
    const char *dot = strrchr(name, '.');
    size_t stem_len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    char *stem = str_ndup(name, stem_len);
    char *file_spk = NULL, *dir_spk = NULL;
    if (!stem) return -1;
    char *first = strchr(stem, '_'), *last = strrchr(stem, '_');
    const char *word = stem, *label = NULL;
    if (!first) {
        snprintf(p->reason, sizeof p->reason,
                 "unlabelled: file name has no _LABEL field (SPEAKER_WORD_LABEL expected)");
    } else {
        *last = 0;
        label = last + 1;
        if (first != last) {
            *first = 0;
            word = first + 1;
            if (*stem) {
                file_spk = str_dup(stem);
                if (!file_spk) goto oom;
                upper(file_spk);
            }
        }
        p->label = dsp_label_index(label);
        if (p->label < 0)
            snprintf(p->reason, sizeof p->reason,
                     "unlabelled: '%.64s' is not a label (angry, disgust, fear, happy, neutral, "
                     "ps, sad)",
                     label);
    }
    int is_sd = folder_speaker(folder, folder_len, &dir_spk);
    if (is_sd < 0) goto oom;
    if (file_spk && (!dir_spk || strcmp(file_spk, dir_spk) == 0)) {
        p->speaker = file_spk;
        file_spk = NULL;
    } else if (dir_spk) {
        p->speaker = dir_spk;
        dir_spk = NULL;
    } else {
        p->speaker = str_dup("unknown");
    }
    p->word = str_dup(word);
    free(stem);
    free(file_spk);
    free(dir_spk);
    if (!p->speaker || !p->word) {
        free(p->speaker);
        free(p->word);
        p->speaker = p->word = NULL;
        return -1;
    }
    return 0;
oom:
    free(stem);
    free(file_spk);
    free(dir_spk);
    return -1;
}

/* ---- the scan state: candidates, then the corpus ---- */

struct cand {
    struct dsp_item it;
    size_t order; /* CSV row number (tie-break); 0 for directory scans */
};

struct state {
    struct dsp_corpus *c;
    struct cand *cand;
    size_t ncand, capcand, capitems, capskip;
    int by_path; /* CSV mode: duplicates are rows naming the same path */
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Records a skipped file; takes copies. Returns 0 or -1 out of memory. */
static int add_skip(struct state *st, const char *path, const char *reason)
{
    struct dsp_corpus *c = st->c;
    if (grow((void **)&c->skipped, &st->capskip, c->n_skipped + 1, sizeof *c->skipped)) return -1;
    char *p = str_dup(path), *r = str_dup(reason);
    if (!p || !r) {
        free(p);
        free(r);
        return -1;
    }
    c->skipped[c->n_skipped].path = p;
    c->skipped[c->n_skipped].reason = r;
    c->n_skipped++;
    return 0;
}

/* Takes ownership of path and of p's strings (freed on every path). */
static int add_cand(struct state *st, char *path, struct parsed *p, int label, size_t order)
{
    if (grow((void **)&st->cand, &st->capcand, st->ncand + 1, sizeof *st->cand)) {
        free(path);
        free(p->speaker);
        free(p->word);
        return -1;
    }
    struct cand *k = &st->cand[st->ncand++];
    k->it.path = path;
    k->it.speaker = p->speaker;
    k->it.word = p->word;
    k->it.label = label;
    k->order = order;
    return 0;
}

static void free_item(struct dsp_item *it)
{
    free(it->path);
    free(it->speaker);
    free(it->word);
    memset(it, 0, sizeof *it);
}

/* A candidate file found in a directory walk (path owned by the caller). */
static int dir_file(struct state *st, const char *path, const char *name, const char *folder,
                    size_t folder_len)
{
    struct parsed p;
    if (parse_name(name, folder, folder_len, &p)) return -1;
    if (p.label < 0) {
        free(p.speaker);
        free(p.word);
        return add_skip(st, path, p.reason);
    }
    char *copy = str_dup(path);
    if (!copy) {
        free(p.speaker);
        free(p.word);
        return -1;
    }
    return add_cand(st, copy, &p, p.label, 0);
}

enum { MAX_DEPTH = 64 };

/* Walks directory `dir` (whose last component is folder[0..folder_len)). Returns 0, or the
 * first non-zero callback result. Problems with entries are reported through w->skip;
 * symlinked directories are not followed. */
static int walk(struct dsp_walk *w, const char *dir, const char *folder, size_t folder_len,
                int depth)
{
    char msg[512];
    if (depth > MAX_DEPTH) return w->skip(w->ctx, dir, "unreadable: directories nested too deeply");
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(msg, sizeof msg, "unreadable: cannot open directory: %s", strerror(errno));
        return w->skip(w->ctx, dir, msg);
    }
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                snprintf(msg, sizeof msg, "unreadable: error reading directory: %s",
                         strerror(errno));
                rc = w->skip(w->ctx, dir, msg);
            }
            break;
        }
        const char *name = de->d_name;
        if (name[0] == '.') {
            if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) w->n_ignored++;
            continue;
        }
        char *path = path_join(dir, name);
        if (!path) {
            rc = -1;
            break;
        }
        struct stat sb;
        int audio = has_audio_ext(name);
        if (lstat(path, &sb) != 0) {
            if (audio) {
                snprintf(msg, sizeof msg, "unreadable: %s", strerror(errno));
                rc = w->skip(w->ctx, path, msg);
            } else {
                w->n_ignored++;
            }
        } else if (S_ISDIR(sb.st_mode)) {
            rc = walk(w, path, name, strlen(name), depth + 1);
        } else if (S_ISLNK(sb.st_mode) && stat(path, &sb) != 0) {
            if (audio) {
                snprintf(msg, sizeof msg, "unreadable: broken symbolic link: %s", strerror(errno));
                rc = w->skip(w->ctx, path, msg);
            } else {
                w->n_ignored++;
            }
        } else if (S_ISREG(sb.st_mode) && audio) {
            rc = w->file(w->ctx, path, name, folder, folder_len);
        } else {
            w->n_ignored++; /* non-audio, special file, or symlink to a directory */
        }
        free(path);
        if (rc) break;
    }
    closedir(d);
    return rc;
}

int dsp_walk(struct dsp_walk *w, const char *dir)
{
    /* the root's own name matters when it is a SPEAKER_EMOTION folder ("ser scan .") */
    char *real = realpath(dir, NULL);
    const char *folder;
    size_t folder_len;
    base_name(real ? real : dir, &folder, &folder_len);
    int rc = walk(w, dir, folder, folder_len, 0);
    free(real);
    return rc;
}

static int scan_file_cb(void *ctx, const char *path, const char *name, const char *folder,
                        size_t folder_len)
{
    return dir_file(ctx, path, name, folder, folder_len);
}

static int scan_skip_cb(void *ctx, const char *path, const char *reason)
{
    return add_skip(ctx, path, reason);
}

/* ---- CSV manifests (RFC 4180) ---- */

struct csv {
    const char *buf;
    size_t len, pos;
    int line; /* physical line of the current position, 1-based */
};

struct row {
    char **f;
    size_t n, cap;
};

static void row_clear(struct row *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->f[i]);
    r->n = 0;
}

/* Reads one record into r. Returns 1 read, 0 end of input, -1 out of memory, -2 syntax error
 * (message in e). */
static int csv_record(struct csv *cv, struct row *r, const char *path, struct err *e)
{
    row_clear(r);
    if (cv->pos >= cv->len) return 0;
    char *fb = NULL;
    size_t fl = 0, fcap = 0;
    for (;;) {
        /* one field */
        fl = 0;
        int quoted = cv->pos < cv->len && cv->buf[cv->pos] == '"';
        if (quoted) cv->pos++;
        int start_line = cv->line;
        for (;;) {
            if (cv->pos >= cv->len) {
                if (quoted) {
                    free(fb);
                    err_set(e, "%s:%d: unterminated quoted field", path, start_line);
                    return -2;
                }
                break;
            }
            char ch = cv->buf[cv->pos];
            if (quoted) {
                if (ch == '"') {
                    if (cv->pos + 1 < cv->len && cv->buf[cv->pos + 1] == '"') {
                        cv->pos++; /* "" is a literal quote */
                    } else {
                        cv->pos++;
                        if (cv->pos < cv->len && cv->buf[cv->pos] != ',' &&
                            cv->buf[cv->pos] != '\n' && cv->buf[cv->pos] != '\r') {
                            free(fb);
                            err_set(e, "%s:%d: unexpected character after a closing quote", path,
                                    cv->line);
                            return -2;
                        }
                        break;
                    }
                } else if (ch == '\n') {
                    cv->line++;
                }
            } else if (ch == ',' || ch == '\n' || ch == '\r') {
                break;
            }
            if (fl + 2 > fcap) {
                size_t nc = fcap ? fcap * 2 : 64;
                char *q = realloc(fb, nc);
                if (!q) {
                    free(fb);
                    return -1;
                }
                fb = q;
                fcap = nc;
            }
            fb[fl++] = ch;
            cv->pos++;
        }
        if (grow((void **)&r->f, &r->cap, r->n + 1, sizeof *r->f)) {
            free(fb);
            return -1;
        }
        char *field = str_ndup(fb ? fb : "", fl);
        if (!field) {
            free(fb);
            return -1;
        }
        r->f[r->n++] = field;
        if (cv->pos < cv->len && cv->buf[cv->pos] == ',') {
            cv->pos++;
            continue;
        }
        /* end of record: \n, \r\n, \r or end of input */
        if (cv->pos < cv->len && cv->buf[cv->pos] == '\r') cv->pos++;
        if (cv->pos < cv->len && cv->buf[cv->pos] == '\n') cv->pos++;
        cv->line++;
        break;
    }
    free(fb);
    return 1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
    return s;
}

static int read_file(const char *path, char **buf, size_t *len, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(e, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    int rc = 0;
    if (!b) {
        rc = err_set(e, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        if (n == cap) {
            char *q = realloc(b, cap * 2);
            if (!q) {
                rc = err_set(e, "%s: out of memory", path);
                goto out;
            }
            b = q;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) rc = err_set(e, "%s: read error", path);
out:
    fclose(f);
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* One CSV data row (path, label, speaker values already trimmed). */
static int csv_row(struct state *st, const char *csv_dir, const char *relpath, const char *label_s,
                   const char *speaker_s, size_t order)
{
    char msg[512];
    char *path = relpath[0] == '/' || !csv_dir[0] ? str_dup(relpath) : path_join(csv_dir, relpath);
    if (!path) return -1;
    const char *name, *folder;
    size_t name_len, folder_len = 0;
    base_name(path, &name, &name_len);
    /* the folder is the component before the name */
    size_t end = (size_t)(name - path);
    while (end > 0 && path[end - 1] == '/') end--;
    size_t fstart = end;
    while (fstart > 0 && path[fstart - 1] != '/') fstart--;
    folder = path + fstart;
    folder_len = end - fstart;
    char *nm = str_ndup(name, name_len);
    if (!nm) {
        free(path);
        return -1;
    }
    struct parsed p;
    int rc = parse_name(nm, folder, folder_len, &p);
    free(nm);
    if (rc) {
        free(path);
        return -1;
    }
    int label = dsp_label_index(label_s);
    struct stat sb;
    const char *problem = NULL;
    if (label < 0) {
        snprintf(msg, sizeof msg,
                 "unlabelled: '%.64s' is not a label (angry, disgust, fear, happy, neutral, ps, "
                 "sad)",
                 label_s);
        problem = msg;
    } else if (stat(path, &sb) != 0) {
        snprintf(msg, sizeof msg, "unreadable: %s", strerror(errno));
        problem = msg;
    } else if (!S_ISREG(sb.st_mode)) {
        problem = "unreadable: not a regular file";
    }
    if (!problem && speaker_s && speaker_s[0] && strcasecmp(speaker_s, "unknown") != 0) {
        char *s = str_dup(speaker_s);
        if (!s) {
            free(path);
            free(p.speaker);
            free(p.word);
            return -1;
        }
        upper(s);
        free(p.speaker);
        p.speaker = s;
    }
    if (problem) {
        free(p.speaker);
        free(p.word);
        rc = add_skip(st, path, problem);
        free(path);
        return rc;
    }
    return add_cand(st, path, &p, label, order);
}

static int scan_csv(struct state *st, const char *csv_path, struct err *e)
{
    char *buf = NULL, *dir = NULL;
    size_t len = 0;
    struct row r = {0};
    if (read_file(csv_path, &buf, &len, e)) return -1;
    struct csv cv = {buf, len, 0, 1};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) cv.pos = 3;
    int rc = 0, got;
    const char *name;
    size_t name_len;
    base_name(csv_path, &name, &name_len);
    dir = str_ndup(csv_path, (size_t)(name - csv_path)); /* "" or ends in '/' */
    if (!dir) goto oom;

    got = csv_record(&cv, &r, csv_path, e);
    if (got == -1) goto oom;
    if (got < 0) goto fail;
    if (got == 0) {
        rc = err_set(e, "%s: empty manifest: expected a header 'path,label[,speaker]'", csv_path);
        goto fail;
    }
    int col_path = -1, col_label = -1, col_speaker = -1;
    for (size_t i = 0; i < r.n; i++) {
        char *h = trim(r.f[i]);
        int *slot = strcasecmp(h, "path") == 0      ? &col_path
                    : strcasecmp(h, "label") == 0   ? &col_label
                    : strcasecmp(h, "speaker") == 0 ? &col_speaker
                                                    : NULL;
        if (!slot || *slot >= 0) {
            rc = err_set(e, "%s:1: bad header: %s column '%.64s' (expected path,label[,speaker])",
                         csv_path, slot ? "repeated" : "unknown", h);
            goto fail;
        }
        *slot = (int)i;
    }
    if (col_path < 0 || col_label < 0) {
        rc = err_set(e, "%s:1: bad header: missing column '%s' (expected path,label[,speaker])",
                     csv_path, col_path < 0 ? "path" : "label");
        goto fail;
    }
    size_t ncols = r.n;
    for (size_t order = 1;; order++) {
        int line = cv.line;
        got = csv_record(&cv, &r, csv_path, e);
        if (got == -1) goto oom;
        if (got < 0) goto fail;
        if (got == 0) break;
        if (r.n == 1 && r.f[0][0] == 0) continue; /* blank line */
        char where[64], msg[128];
        snprintf(where, sizeof where, ":%d", line);
        if (r.n != ncols) {
            char *p = malloc(strlen(csv_path) + sizeof where);
            if (!p) goto oom;
            strcpy(p, csv_path);
            strcat(p, where);
            snprintf(msg, sizeof msg, "bad row: expected %zu fields, got %zu", ncols, r.n);
            rc = add_skip(st, p, msg);
            free(p);
            if (rc) goto oom;
            continue;
        }
        char *rel = r.f[col_path]; /* not trimmed: a path may hold spaces */
        if (!rel[0]) {
            char *p = malloc(strlen(csv_path) + sizeof where);
            if (!p) goto oom;
            strcpy(p, csv_path);
            strcat(p, where);
            rc = add_skip(st, p, "bad row: empty path");
            free(p);
            if (rc) goto oom;
            continue;
        }
        if (csv_row(st, dir, rel, trim(r.f[col_label]),
                    col_speaker >= 0 ? trim(r.f[col_speaker]) : NULL, order))
            goto oom;
    }
    goto done;
oom:
    rc = err_set(e, "%s: out of memory", csv_path);
fail:
    rc = -1;
done:
    row_clear(&r);
    free(r.f);
    free(buf);
    free(dir);
    return rc;
}

/* ---- de-duplication, validation, ordering ---- */

static int cmp_key(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    int d = strcmp(x->it.speaker, y->it.speaker);
    if (!d) d = strcasecmp(x->it.word, y->it.word);
    if (!d) d = (x->it.label > y->it.label) - (x->it.label < y->it.label);
    if (!d) d = strcmp(x->it.path, y->it.path);
    return d;
}

static int cmp_path_order(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    int d = strcmp(x->it.path, y->it.path);
    if (!d) d = (x->order > y->order) - (x->order < y->order);
    return d;
}

static int same_key(const struct state *st, const struct cand *x, const struct cand *y)
{
    if (st->by_path) return strcmp(x->it.path, y->it.path) == 0;
    return strcmp(x->it.speaker, y->it.speaker) == 0 && strcasecmp(x->it.word, y->it.word) == 0 &&
           x->it.label == y->it.label;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const struct dsp_item *)a)->path, ((const struct dsp_item *)b)->path);
}

static int cmp_skip(const void *a, const void *b)
{
    const struct dsp_skip *x = a, *y = b;
    int d = strcmp(x->path, y->path);
    return d ? d : strcmp(x->reason, y->reason);
}

/* One copy of a group: a duplicate or conflict when a copy was kept already, else validated
 * (when asked) and kept. Frees or moves k->it. Returns 0 or -1 out of memory. */
static int try_candidate(struct state *st, struct cand *k, int validate, size_t *kept)
{
    struct dsp_corpus *c = st->c;
    int rc = 0;
    if (*kept != (size_t)-1) {
        const struct dsp_item *first = &c->items[*kept];
        if (st->by_path &&
            (first->label != k->it.label || strcmp(first->speaker, k->it.speaker) != 0)) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "conflict: listed again with label %s, speaker %.64s (kept label %s, "
                     "speaker %.64s)",
                     dsp_label_names[k->it.label], k->it.speaker, dsp_label_names[first->label],
                     first->speaker);
            rc = add_skip(st, k->it.path, msg);
        } else {
            c->n_duplicates++;
        }
        free_item(&k->it);
        return rc;
    }
    if (validate) {
        struct dsp_audio_info info;
        struct err pe = {0};
        if (dsp_audio_probe(k->it.path, &info, &pe) != 0) {
            /* probe messages read "PATH: reason"; keep only the reason */
            size_t pl = strlen(k->it.path);
            const char *reason = pe.msg;
            if (strncmp(reason, k->it.path, pl) == 0 && reason[pl] == ':' && reason[pl + 1] == ' ')
                reason += pl + 2;
            rc = add_skip(st, k->it.path, reason);
            free_item(&k->it);
            return rc;
        }
    }
    *kept = c->n;
    c->items[c->n++] = k->it;
    memset(&k->it, 0, sizeof k->it);
    return 0;
}

/* Moves the kept candidates into c->items; validates when asked. */
static int resolve(struct state *st, int validate)
{
    struct dsp_corpus *c = st->c;
    if (st->ncand > 1)
        qsort(st->cand, st->ncand, sizeof *st->cand, st->by_path ? cmp_path_order : cmp_key);
    if (grow((void **)&c->items, &st->capitems, st->ncand ? st->ncand : 1, sizeof *c->items))
        return -1;
    for (size_t g = 0, end; g < st->ncand; g = end) {
        /* the group [g, end) holds the copies of one utterance (or path), in path order */
        for (end = g + 1; end < st->ncand && same_key(st, &st->cand[g], &st->cand[end]); end++) {
        }
        size_t kept = (size_t)-1; /* index in c->items of the copy kept */
        for (size_t i = g; i < end; i++)
            if (try_candidate(st, &st->cand[i], validate, &kept)) return -1;
    }
    if (c->n > 1) qsort(c->items, c->n, sizeof *c->items, cmp_item);
    if (c->n_skipped > 1) qsort(c->skipped, c->n_skipped, sizeof *c->skipped, cmp_skip);
    return 0;
}

int dsp_scan(const char *dir_or_csv, int validate, struct dsp_corpus *c, struct err *e)
{
    struct state st = {0};
    st.c = c;
    struct stat sb;
    if (!dir_or_csv || !dir_or_csv[0]) return err_set(e, "scan: empty path");
    if (stat(dir_or_csv, &sb) != 0)
        return err_set(e, "%s: cannot scan: %s", dir_or_csv, strerror(errno));
    int rc;
    if (S_ISDIR(sb.st_mode)) {
        struct dsp_walk w = {scan_file_cb, scan_skip_cb, &st, 0};
        rc = dsp_walk(&w, dir_or_csv);
        c->n_ignored += w.n_ignored;
        if (rc) err_set(e, "%s: out of memory while scanning", dir_or_csv);
    } else {
        size_t n = strlen(dir_or_csv);
        if (!S_ISREG(sb.st_mode) || n < 4 || strcasecmp(dir_or_csv + n - 4, ".csv") != 0)
            return err_set(e, "%s: not a directory or a .csv manifest", dir_or_csv);
        st.by_path = 1;
        rc = scan_csv(&st, dir_or_csv, e);
    }
    if (rc == 0 && resolve(&st, validate) != 0)
        rc = err_set(e, "%s: out of memory while scanning", dir_or_csv);
    for (size_t i = 0; i < st.ncand; i++) free_item(&st.cand[i].it);
    free(st.cand);
    return rc;
}
