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
#include <ctype.h>

#include "dsp/audio.h"

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

static int has_video_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name && strcasecmp(dot + 1, "mp4") == 0;
}

/* ---- the scan state: candidates, then the corpus ---- */

struct cand {
    struct dsp_item it;
    size_t order; /* CSV row number (tie-break); 0 for directory scans */
};

struct state {
    struct dsp_corpus *c;
    const struct dsp_scan_opts *o;
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

/* Takes ownership of path (freed on every path); copies n's strings. */
static int add_cand(struct state *st, char *path, const struct dsp_name *n, size_t order)
{
    char *spk = str_dup(n->speaker), *word = str_dup(n->word);
    if (!spk || !word || grow((void **)&st->cand, &st->capcand, st->ncand + 1, sizeof *st->cand)) {
        free(path), free(spk), free(word);
        return -1;
    }
    struct cand *k = &st->cand[st->ncand++];
    k->it.path = path;
    k->it.speaker = spk;
    k->it.word = word;
    k->it.label = n->label;
    k->it.corpus = n->corpus;
    k->it.gender = n->gender;
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
    struct dsp_name n;
    if (!dsp_parse_name(name, folder, folder_len, &st->o->names, &n)) {
        if (!has_audio_ext(name) && n.corpus != DSP_RAVDESS) {
            st->c->n_ignored++; /* a video file of no corpus ser knows: not its business */
            return 0;
        }
        return add_skip(st, path, n.reason);
    }
    char *copy = str_dup(path);
    return copy ? add_cand(st, copy, &n, 0) : -1;
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
        } else if (S_ISREG(sb.st_mode) && (audio || (w->video && has_video_ext(name)))) {
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

/* The values of one manifest row (trimmed; NULL when the column is absent). */
struct row_values {
    const char *label, *speaker, *corpus, *gender;
};

/* Corpus, speaker and gender of a manifest row: the columns' when given, else what the file
 * name says. Returns 0, or a reason (static) to skip the row. */
static const char *row_identity(const struct row_values *v, const char *name, const char *folder,
                                size_t folder_len, const struct dsp_scan_opts *o,
                                struct dsp_name *n)
{
    struct dsp_name_opts no = o->names;
    int given = v->corpus && v->corpus[0] ? dsp_corpus_index(v->corpus) : -1;
    if (v->corpus && v->corpus[0] && given < 0) return "bad row: unknown corpus";
    if (given >= 0 && given != DSP_OTHER) no.corpus = given;
    if (given == DSP_OTHER || !dsp_parse_name(name, folder, folder_len, &no, n)) {
        memset(n, 0, sizeof *n);
        n->corpus = given >= 0 ? given : DSP_OTHER;
        n->gender = '?';
        snprintf(n->word, sizeof n->word, "%.90s", name);
        snprintf(n->speaker, sizeof n->speaker, "%s:unknown", dsp_corpus_names[n->corpus]);
    }
    if (given >= 0) n->corpus = given;
    const char *id =
        v->speaker && strchr(v->speaker, ':') ? strchr(v->speaker, ':') + 1 : v->speaker;
    if (id && id[0] && strcasecmp(id, "unknown") != 0) { /* else: from the file name */
        const char *colon = strchr(v->speaker, ':');
        if (colon) { /* "corpus:ID": the namespace is a corpus, the corpus column's if given */
            char ns[16];
            snprintf(ns, sizeof ns, "%.*s",
                     (int)(colon - v->speaker < 15 ? colon - v->speaker : 15), v->speaker);
            int c = dsp_corpus_index(ns);
            if (c < 0) return "bad row: the speaker's namespace is not a corpus";
            if (given >= 0 && c != given)
                return "bad row: the speaker's namespace is not the corpus column's corpus";
            n->corpus = c;
        }
        snprintf(n->speaker, sizeof n->speaker, "%s:%s", dsp_corpus_names[n->corpus],
                 colon ? colon + 1 : v->speaker);
        char *p = strchr(n->speaker, ':') + 1;
        for (; *p; p++) *p = (char)toupper((unsigned char)*p);
    }
    if (v->gender && v->gender[0]) {
        char g = (char)tolower((unsigned char)v->gender[0]);
        if (v->gender[1] || (g != 'm' && g != 'f' && g != '?'))
            return "bad row: gender is m, f or ?";
        n->gender = g;
    }
    n->label = dsp_label_index(v->label);
    return NULL;
}

/* One CSV data row. */
static int csv_row(struct state *st, const char *csv_dir, const char *relpath,
                   const struct row_values *v, size_t order)
{
    char msg[512];
    char *path = relpath[0] == '/' || !csv_dir[0] ? str_dup(relpath) : path_join(csv_dir, relpath);
    if (!path) return -1;
    const char *name;
    size_t name_len;
    base_name(path, &name, &name_len);
    /* the folder is the component before the name */
    size_t end = (size_t)(name - path);
    while (end > 0 && path[end - 1] == '/') end--;
    size_t fstart = end;
    while (fstart > 0 && path[fstart - 1] != '/') fstart--;
    char *nm = str_ndup(name, name_len);
    if (!nm) {
        free(path);
        return -1;
    }
    struct dsp_name n;
    const char *problem = row_identity(v, nm, path + fstart, end - fstart, st->o, &n);
    free(nm);
    struct stat sb;
    if (!problem && n.label < 0) {
        snprintf(msg, sizeof msg,
                 "unlabelled: '%.64s' is not a label (angry, disgust, fear, happy, neutral, sad, "
                 "surprise, calm, boredom, or a corpus's spelling of one)",
                 v->label);
        problem = msg;
    } else if (!problem && stat(path, &sb) != 0) {
        snprintf(msg, sizeof msg, "unreadable: %s", strerror(errno));
        problem = msg;
    } else if (!problem && !S_ISREG(sb.st_mode)) {
        problem = "unreadable: not a regular file";
    }
    if (problem) {
        int rc = add_skip(st, path, problem);
        free(path);
        return rc;
    }
    return add_cand(st, path, &n, order);
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
        rc =
            err_set(e, "%s: empty manifest: expected a header 'path,label[,speaker]...'", csv_path);
        goto fail;
    }
    /* columns: path, label, speaker, corpus, gender */
    static const char *const names[5] = {"path", "label", "speaker", "corpus", "gender"};
    int col[5] = {-1, -1, -1, -1, -1};
    for (size_t i = 0; i < r.n; i++) {
        char *h = trim(r.f[i]);
        int k = 0;
        while (k < 5 && strcasecmp(h, names[k]) != 0) k++;
        if (k == 5 || col[k] >= 0) {
            rc = err_set(e,
                         "%s:1: bad header: %s column '%.64s' (expected "
                         "path,label[,speaker][,corpus][,gender])",
                         csv_path, k < 5 ? "repeated" : "unknown", h);
            goto fail;
        }
        col[k] = (int)i;
    }
    if (col[0] < 0 || col[1] < 0) {
        rc = err_set(e,
                     "%s:1: bad header: missing column '%s' (expected "
                     "path,label[,speaker][,corpus][,gender])",
                     csv_path, col[0] < 0 ? "path" : "label");
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
        char *rel = r.f[col[0]]; /* not trimmed: a path may hold spaces */
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
        struct row_values v = {trim(r.f[col[1]]), col[2] >= 0 ? trim(r.f[col[2]]) : NULL,
                               col[3] >= 0 ? trim(r.f[col[3]]) : NULL,
                               col[4] >= 0 ? trim(r.f[col[4]]) : NULL};
        if (csv_row(st, dir, rel, &v, order)) goto oom;
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

void dsp_scan_default_opts(struct dsp_scan_opts *o)
{
    o->validate = 1;
    o->names.corpus = -1;
    o->names.ravdess_song = 0;
}

int dsp_scan(const char *dir_or_csv, const struct dsp_scan_opts *o, struct dsp_corpus *c,
             struct err *e)
{
    struct dsp_scan_opts def;
    if (!o) dsp_scan_default_opts(&def), o = &def;
    struct state st = {0};
    st.c = c;
    st.o = o;
    struct stat sb;
    if (!dir_or_csv || !dir_or_csv[0]) return err_set(e, "scan: empty path");
    if (stat(dir_or_csv, &sb) != 0)
        return err_set(e, "%s: cannot scan: %s", dir_or_csv, strerror(errno));
    int rc;
    if (S_ISDIR(sb.st_mode)) {
        struct dsp_walk w = {scan_file_cb, scan_skip_cb, &st, 1, 0};
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
    if (rc == 0 && resolve(&st, o->validate) != 0)
        rc = err_set(e, "%s: out of memory while scanning", dir_or_csv);
    for (size_t i = 0; i < st.ncand; i++) free_item(&st.cand[i].it);
    free(st.cand);
    return rc;
}
