/* file.c: atomic, kind-checked output and non-blocking input (see file.h). */
#include "dsp/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

static const char *type_name(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* The path to replace: path itself, or a symlink's final target. Checks its kind. */
static char *target_of(const char *path, const struct dsp_kind *kind, struct err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return xstrdup(path);
        err_io(e, "%s: cannot inspect: %s", path, strerror(errno));
        return NULL;
    }
    char *real = NULL;
    if (S_ISLNK(st.st_mode)) {
        real = realpath(path, NULL);
        if (!real || stat(real, &st) != 0) {
            err_set(e, "%s: a symbolic link to nothing: will not write through it", path);
            free(real);
            return NULL;
        }
    }
    const char *t = real ? real : path;
    if (!S_ISREG(st.st_mode)) {
        err_set(e, "%s: exists and is %s: will not replace it", t, type_name(st.st_mode));
        free(real);
        return NULL;
    }
    if (kind && st.st_size > 0) {
        unsigned char head[64];
        ssize_t n = -1;
        int fd = open(t, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) n = read(fd, head, sizeof head), close(fd);
        if (n < 0 || !kind->is(head, (size_t)n, kind->ctx)) {
            err_set(e,
                    "%s: exists and is not a %s: will not overwrite it (remove it or choose "
                    "another path)",
                    t, kind->name);
            free(real);
            return NULL;
        }
    }
    return real ? real : xstrdup(path);
}

int dsp_out_open(struct dsp_out *o, const char *path, const struct dsp_kind *kind, struct err *e)
{
    memset(o, 0, sizeof *o);
    o->path = target_of(path, kind, e);
    if (!o->path) return -1;
    size_t plen = strlen(o->path) + 32;
    o->tmp = malloc(plen);
    if (!o->tmp) {
        dsp_out_abort(o);
        return err_set(e, "%s: out of memory", path);
    }
    snprintf(o->tmp, plen, "%s.tmp.%ld", o->path, (long)getpid());
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        err_io(e, "%s: cannot create temporary file %s: %s", path, o->tmp, strerror(errno));
        if (fd >= 0) close(fd);
        free(o->path), free(o->tmp);
        memset(o, 0, sizeof *o);
        return -1;
    }
    return 0;
}

static void sync_dir(const char *path)
{
    char *dir = xstrdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        *slash = 0;
        d = slash == dir ? "/" : dir;
    }
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) fsync(fd), close(fd);
    free(dir);
}

int dsp_out_commit(struct dsp_out *o, struct err *e)
{
    int bad = fflush(o->f) != 0 || ferror(o->f);
    const char *why = bad ? strerror(errno) : NULL;
    if (!bad && fsync(fileno(o->f)) != 0) bad = 1, why = strerror(errno);
    if (fclose(o->f) != 0 && !bad) bad = 1, why = strerror(errno);
    o->f = NULL;
    if (!bad && rename(o->tmp, o->path) != 0) bad = 1, why = strerror(errno);
    if (bad) {
        err_io(e, "%s: write failed: %s", o->path, why ? why : "I/O error");
        dsp_out_abort(o);
        return -1;
    }
    sync_dir(o->path);
    free(o->path), free(o->tmp);
    memset(o, 0, sizeof *o);
    return 0;
}

void dsp_out_abort(struct dsp_out *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->path), free(o->tmp);
    memset(o, 0, sizeof *o);
}

int dsp_write_atomic(const char *path, const void *data, size_t len, const struct dsp_kind *kind,
                     struct err *e)
{
    struct dsp_out o;
    if (dsp_out_open(&o, path, kind, e) != 0) return -1;
    if (len && fwrite(data, 1, len, o.f) != len) {
        err_io(e, "%s: write failed: %s", path, strerror(errno));
        dsp_out_abort(&o);
        return -1;
    }
    return dsp_out_commit(&o, e);
}
