/* cmd_scan.c: `ser scan DIR|MANIFEST.csv`, the corpus listing (rules in dsp/scan.h).
 *
 * Default output (stdout): a table with speakers as rows and the labels present as columns
 * plus totals, a summary line, and the skipped files as "  PATH: REASON" lines. Every label
 * ser knows is listed (calm, boredom too): --labels and --label-map apply when training.
 * --csv: the manifest instead, RFC 4180 with header "path,corpus,speaker,gender,label" (speaker
 * namespaced, label canonical) and one row per usable
 * file (fields holding a comma, quote, CR or LF are quoted, quotes doubled); skipped files go to
 * stderr as "ser scan: skipped PATH: REASON" plus a summary line, so stdout stays a clean CSV.
 * --skipped FILE: write the skip list as CSV "path,reason" to FILE instead of stdout/stderr
 * (either mode; the --csv summary line still goes to stderr).
 * No MPI. Exit 0 when the scan worked (also with skipped files), 1 on fatal input errors and
 * bad usage, 2 when the output cannot be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/cli.h"
#include "mpi/csv.h"
#include "mpi/commands.h"
#include "dsp/scan.h"

struct scan_opts {
    int csv;
    int no_validate;
    char skipped_path[4096];
    char corpus[16];
    int ravdess_song;
};

#define O(f) CLI_FIELD(struct scan_opts, f)
static const struct cli_opt scan_opts[] = {
    {"csv", CLI_FLAG, O(csv), NULL, 0, 0, NULL, NULL,
     "print the manifest as CSV (path,corpus,speaker,gender,label) instead of the table", NULL,
     NULL, 0},
    {"no-validate", CLI_FLAG, O(no_validate), NULL, 0, 0, NULL, NULL,
     "do not decode the files, only parse their names (fast)", NULL, NULL, 0},
    {"skipped", CLI_STRING, O(skipped_path), NULL, 0, 0, NULL, "FILE",
     "write the skipped files as CSV (path,reason) to FILE", NULL, NULL, 0},
    {"corpus", CLI_STRING, O(corpus), "auto", 0, 0, "auto|tess|ravdess|cremad|savee|emodb", "NAME",
     "read every file with this corpus's naming instead of recognising each", NULL, NULL, 0},
    {"ravdess-song", CLI_FLAG, O(ravdess_song), NULL, 0, 0, NULL, NULL,
     "also list RAVDESS's song files (vocal channel 02)", NULL, NULL, 0},
};

static const struct cli_table scan_table = {
    "scan",
    "ser scan [options] DIR|MANIFEST.csv",
    "Lists a corpus tree (TESS, RAVDESS, CREMA-D, SAVEE and EmoDB are recognised by their file "
    "names,\nin any folder layout, and may be mixed; duplicates counted once) or a CSV "
    "manifest (header\npath,label[,speaker][,corpus][,gender]): counts per speaker and label, "
    "and the skipped files\nwith their reasons (unlabelled, song, video, unreadable, empty, "
    "truncated, silent, git-lfs\npointer, ...). Labels: angry disgust fear happy neutral sad "
    "surprise calm boredom. --csv\nwrites a manifest that reads back unchanged. Exit 0 even "
    "when files were skipped.",
    scan_opts,
    sizeof scan_opts / sizeof scan_opts[0],
    NULL,
    NULL,
    0};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The speakers x labels table. Returns 0 or -1 out of memory. */
static int print_table(FILE *f, const struct dsp_corpus *c)
{
    const char **spk = malloc((c->n ? c->n : 1) * sizeof *spk);
    size_t(*cnt)[DSP_N_LABELS] = calloc(c->n ? c->n : 1, sizeof *cnt);
    size_t col[DSP_N_LABELS] = {0}, corp[DSP_N_CORPORA] = {0}, ns = 0;
    if (!spk || !cnt) {
        free(spk);
        free(cnt);
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) spk[i] = c->items[i].speaker;
    if (c->n > 1) qsort(spk, c->n, sizeof *spk, cmp_str);
    for (size_t i = 0; i < c->n; i++)
        if (ns == 0 || strcmp(spk[ns - 1], spk[i]) != 0) spk[ns++] = spk[i];
    for (size_t i = 0; i < c->n; i++) {
        const char *key = c->items[i].speaker;
        const char **hit = bsearch(&key, spk, ns, sizeof *spk, cmp_str);
        cnt[hit - spk][c->items[i].label]++;
        col[c->items[i].label]++;
        corp[c->items[i].corpus]++;
    }
    int w = 7;
    for (size_t s = 0; s < ns; s++)
        if ((int)strlen(spk[s]) > w) w = (int)strlen(spk[s]);
    fprintf(f, "%-*s", w, "speaker");
    for (int l = 0; l < DSP_N_LABELS; l++)
        if (col[l]) fprintf(f, " %8s", dsp_label_names[l]);
    fprintf(f, " %8s\n", "total");
    for (size_t s = 0; s < ns; s++) {
        size_t row = 0;
        fprintf(f, "%-*s", w, spk[s]);
        for (int l = 0; l < DSP_N_LABELS; l++)
            if (col[l]) fprintf(f, " %8zu", cnt[s][l]), row += cnt[s][l];
        fprintf(f, " %8zu\n", row);
    }
    fprintf(f, "%-*s", w, "total");
    for (int l = 0; l < DSP_N_LABELS; l++)
        if (col[l]) fprintf(f, " %8zu", col[l]);
    fprintf(f, " %8zu\n\n%zu files, %zu speakers (", c->n, c->n, ns);
    for (int k = 0, first = 1; k < DSP_N_CORPORA; k++)
        if (corp[k])
            fprintf(f, "%s%s %zu", first ? "" : ", ", dsp_corpus_names[k], corp[k]), first = 0;
    fprintf(f, "); %zu skipped, %zu duplicates ignored, %zu other files ignored\n", c->n_skipped,
            c->n_duplicates, c->n_ignored);
    free(spk);
    free(cnt);
    return 0;
}

/* The skip list as CSV (path,reason) into a file. */
static int write_skipped(const struct dsp_corpus *c, const char *path, struct err *e)
{
    struct dist_csv csv;
    if (dist_csv_open(&csv, path, "path,reason", e)) return -1;
    dist_csv_row(&csv, 2, "path", "reason");
    for (size_t i = 0; i < c->n_skipped; i++)
        dist_csv_row(&csv, 2, c->skipped[i].path, c->skipped[i].reason);
    return dist_csv_close(&csv, path, e);
}

/* stdout: the manifest (--csv) or the table, and the skip list where it belongs. */
static int print_scan(const struct scan_opts *o, const struct dsp_corpus *c, struct err *e)
{
    struct dist_csv csv;
    dist_csv_stream(&csv, stdout);
    if (o->csv) {
        dist_csv_row(&csv, 5, "path", "corpus", "speaker", "gender", "label");
        for (size_t i = 0; i < c->n; i++) {
            char g[2] = {c->items[i].gender, 0};
            dist_csv_row(&csv, 5, c->items[i].path, dsp_corpus_names[c->items[i].corpus],
                         c->items[i].speaker, g, dsp_label_names[c->items[i].label]);
        }
    } else if (print_table(stdout, c) != 0) {
        return err_set(e, "out of memory");
    }
    if (!o->skipped_path[0] && o->csv) {
        for (size_t i = 0; i < c->n_skipped; i++)
            fprintf(stderr, "ser scan: skipped %s: %s\n", c->skipped[i].path, c->skipped[i].reason);
    } else if (!o->skipped_path[0] && c->n_skipped) {
        printf("\nskipped (%zu):\n", c->n_skipped);
        for (size_t i = 0; i < c->n_skipped; i++)
            printf("  %s: %s\n", c->skipped[i].path, c->skipped[i].reason);
    }
    if (o->csv)
        fprintf(stderr,
                "ser scan: %zu files, %zu skipped, %zu duplicates ignored, %zu other files "
                "ignored\n",
                c->n, c->n_skipped, c->n_duplicates, c->n_ignored);
    return dist_csv_close(&csv, "standard output", e);
}

int cmd_scan(int argc, char **argv)
{
    struct scan_opts o;
    int first;
    cli_defaults(&scan_table, &o);
    int pr = cli_parse(&scan_table, argc, argv, &o, &first);
    if (pr != CLI_OK) return cli_exit_code(pr);
    if (argc - first != 1) {
        fprintf(stderr, "ser scan: expected one DIR or MANIFEST.csv, got %d arguments\nusage: %s\n",
                argc - first, scan_table.usage);
        return SER_EXIT_INPUT;
    }
    struct dsp_corpus c = {0};
    struct err e = {0};
    struct dsp_scan_opts so;
    dsp_scan_default_opts(&so);
    so.validate = !o.no_validate;
    so.names.corpus = dsp_corpus_index(o.corpus); /* -1 for auto */
    so.names.ravdess_song = o.ravdess_song;
    int rc = dsp_scan(argv[first], &so, &c, &e);
    if (rc == 0 && o.skipped_path[0]) rc = write_skipped(&c, o.skipped_path, &e);
    if (rc == 0) rc = print_scan(&o, &c, &e);
    if (rc) fprintf(stderr, "ser scan: %s\n", e.msg);
    dsp_corpus_free(&c);
    return rc ? err_exit_code(&e) : 0;
}
