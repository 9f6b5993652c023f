/* cmd_scan.c: `ser scan DIR|MANIFEST.csv`, the corpus listing (rules in dsp/scan.h).
 *
 * Default output (stdout): a table with speakers as rows and the 7 labels as columns plus
 * totals, a summary line, and the skipped files as "  PATH: REASON" lines.
 * --csv: the manifest instead, RFC 4180 with header "path,speaker,label" and one row per usable
 * file (fields holding a comma, quote, CR or LF are quoted, quotes doubled); skipped files go to
 * stderr as "scan: skipped PATH: REASON" plus a summary line, so stdout stays a clean CSV.
 * --skipped FILE: write the skip list as CSV "path,reason" to FILE instead of stdout/stderr
 * (either mode; the --csv summary line still goes to stderr).
 * No MPI. Exit 0 when the scan worked (also with skipped files), 1 on fatal input errors and
 * bad usage, 2 when the output cannot be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/cli.h"
#include "mpi/commands.h"
#include "dsp/scan.h"

struct scan_opts {
    int csv;
    int validate;
    const char *skipped_path;
};

static const struct cli_opt scan_table[] = {
    {"csv", NULL, "print the manifest as CSV (path,speaker,label) instead of the table"},
    {"no-validate", NULL, "do not decode the files, only parse their names (fast)"},
    {"skipped", "FILE", "write the skipped files as CSV (path,reason) to FILE"},
};
enum { NSCAN_OPTS = sizeof scan_table / sizeof scan_table[0] };

static int scan_apply(void *ctx, int index, const char *arg, struct err *e)
{
    struct scan_opts *o = ctx;
    (void)e;
    switch (index) {
    case 0:
        o->csv = 1;
        break;
    case 1:
        o->validate = 0;
        break;
    case 2:
        o->skipped_path = arg;
        break;
    }
    return 0;
}

/* One CSV field, quoted per RFC 4180 when needed. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The speakers x labels table. Returns 0 or -1 out of memory. */
static int print_table(FILE *f, const struct dsp_corpus *c)
{
    const char **spk = malloc((c->n ? c->n : 1) * sizeof *spk);
    size_t(*cnt)[DSP_N_LABELS] = calloc(c->n ? c->n : 1, sizeof *cnt);
    if (!spk || !cnt) {
        free(spk);
        free(cnt);
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) spk[i] = c->items[i].speaker;
    if (c->n > 1) qsort(spk, c->n, sizeof *spk, cmp_str);
    size_t ns = 0;
    for (size_t i = 0; i < c->n; i++)
        if (ns == 0 || strcmp(spk[ns - 1], spk[i]) != 0) spk[ns++] = spk[i];
    for (size_t i = 0; i < c->n; i++) {
        const char *key = c->items[i].speaker;
        const char **hit = bsearch(&key, spk, ns, sizeof *spk, cmp_str);
        cnt[hit - spk][c->items[i].label]++;
    }
    int w = 7;
    for (size_t s = 0; s < ns; s++)
        if ((int)strlen(spk[s]) > w) w = (int)strlen(spk[s]);
    fprintf(f, "%-*s", w, "speaker");
    for (int l = 0; l < DSP_N_LABELS; l++) fprintf(f, " %8s", dsp_label_names[l]);
    fprintf(f, " %8s\n", "total");
    size_t col[DSP_N_LABELS] = {0};
    for (size_t s = 0; s < ns; s++) {
        size_t row = 0;
        fprintf(f, "%-*s", w, spk[s]);
        for (int l = 0; l < DSP_N_LABELS; l++) {
            fprintf(f, " %8zu", cnt[s][l]);
            row += cnt[s][l];
            col[l] += cnt[s][l];
        }
        fprintf(f, " %8zu\n", row);
    }
    fprintf(f, "%-*s", w, "total");
    for (int l = 0; l < DSP_N_LABELS; l++) fprintf(f, " %8zu", col[l]);
    fprintf(f, " %8zu\n", c->n);
    fprintf(f,
            "\n%zu files, %zu speakers; %zu skipped, %zu duplicates ignored, %zu other files "
            "ignored\n",
            c->n, ns, c->n_skipped, c->n_duplicates, c->n_ignored);
    free(spk);
    free(cnt);
    return 0;
}

int cmd_scan(int argc, char **argv)
{
    struct scan_opts o = {0, 1, NULL};
    int first;
    const char *usage = "ser scan [options] DIR|MANIFEST.csv";
    const char *summary =
        "Lists a TESS-shaped corpus (SPEAKER_WORD_LABEL.wav files in any folder layout, "
        "duplicates\ncounted once) or a CSV manifest (header path,label[,speaker]): counts per "
        "speaker and label,\nand the skipped files with their reasons (unlabelled, unreadable, "
        "empty, truncated, ...).\nLabels: angry disgust fear happy neutral ps sad. Exit 0 even "
        "when files were skipped.";
    int pr = cli_parse(argc, argv, usage, summary, scan_table, NSCAN_OPTS, scan_apply, &o, &first);
    if (pr == CLI_HELP) return 0;
    if (pr != CLI_OK) return 1;
    if (argc - first != 1) {
        fprintf(stderr, "%s: expected one DIR or MANIFEST.csv, got %d arguments\nusage: %s\n",
                argv[0], argc - first, usage);
        return 1;
    }
    const char *src = argv[first];
    struct dsp_corpus c;
    memset(&c, 0, sizeof c);
    struct err e = {{0}};
    if (dsp_scan(src, o.validate, &c, &e) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], e.msg);
        dsp_corpus_free(&c);
        return 1;
    }
    int rc = 0;
    FILE *out = stdout;
    if (o.csv) {
        fputs("path,speaker,label\n", out);
        for (size_t i = 0; i < c.n; i++) {
            csv_field(out, c.items[i].path);
            fputc(',', out);
            csv_field(out, c.items[i].speaker);
            fprintf(out, ",%s\n", dsp_label_names[c.items[i].label]);
        }
    } else if (print_table(out, &c) != 0) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        rc = 1;
    }
    if (o.skipped_path) {
        FILE *sf = fopen(o.skipped_path, "w");
        if (!sf) {
            perror(o.skipped_path);
            rc = 2;
        } else {
            fputs("path,reason\n", sf);
            for (size_t i = 0; i < c.n_skipped; i++) {
                csv_field(sf, c.skipped[i].path);
                fputc(',', sf);
                csv_field(sf, c.skipped[i].reason);
                fputc('\n', sf);
            }
            if (fclose(sf) != 0) {
                perror(o.skipped_path);
                rc = 2;
            }
        }
    } else if (o.csv) {
        for (size_t i = 0; i < c.n_skipped; i++)
            fprintf(stderr, "%s: skipped %s: %s\n", argv[0], c.skipped[i].path,
                    c.skipped[i].reason);
    } else if (c.n_skipped) {
        fprintf(out, "\nskipped (%zu):\n", c.n_skipped);
        for (size_t i = 0; i < c.n_skipped; i++)
            fprintf(out, "  %s: %s\n", c.skipped[i].path, c.skipped[i].reason);
    }
    if (o.csv)
        fprintf(stderr,
                "%s: %zu files, %zu skipped, %zu duplicates ignored, %zu other files "
                "ignored\n",
                argv[0], c.n, c.n_skipped, c.n_duplicates, c.n_ignored);
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "%s: cannot write the output\n", argv[0]);
        rc = 2;
    }
    dsp_corpus_free(&c);
    return rc;
}
