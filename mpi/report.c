/* report.c: summary.json, report.md, confusion.tsv and SVG plots (see report.h). */
#include "mpi/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/file.h"
#include "mpi/json.h"
#include "mpi/metrics.h"

static FILE *open_out(struct dsp_out *o, const char *dir, const char *name, struct err *e)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return dsp_out_open(o, path, NULL, e) == 0 ? o->f : NULL;
}

static int close_out(struct dsp_out *o, struct err *e)
{
    return dsp_out_commit(o, e);
}

/* The configuration as a JSON object, each value with its option's type. */
static void json_config(struct dist_json *j, const struct cli_table *t, const void *cfg)
{
    char v[8192];
    dist_json_open(j, '{');
    for (size_t i = 0; i < t->n; i++) {
        const struct cli_opt *o = &t->opts[i];
        if (o->flags & (CLI_RUN_LOCAL | CLI_NO_CONFIG)) continue;
        int type = cli_value(t, cfg, o->name, v, sizeof v);
        dist_json_key(j, o->name);
        if (type == CLI_LIST) { /* an array of strings */
            const struct cli_list *l = cli_list_values(cfg, o);
            dist_json_open(j, '[');
            for (int k = 0; k < l->n; k++) dist_json_str(j, l->v[k]);
            dist_json_close(j, ']');
        } else if (type == CLI_FLAG)
            dist_json_bool(j, strcmp(v, "true") == 0);
        else if (type == CLI_LONG)
            dist_json_int(j, strtoll(v, NULL, 10));
        else if (type == CLI_DOUBLE)
            dist_json_num(j, strtod(v, NULL));
        else
            dist_json_str(j, v);
    }
    dist_json_close(j, '}');
}

static void json_per_class(struct dist_json *j, const struct dist_report *r,
                           const struct dist_metrics *m)
{
    dist_json_key(j, "per_class");
    dist_json_open(j, '{');
    for (int k = 0; k < r->K; k++) {
        dist_json_key(j, r->classes[k]);
        dist_json_open(j, '{');
        dist_json_key(j, "precision"), dist_json_num(j, m->precision[k]);
        dist_json_key(j, "recall"), dist_json_num(j, m->recall[k]);
        dist_json_key(j, "f1"), dist_json_num(j, m->f1[k]);
        dist_json_key(j, "support"), dist_json_int(j, m->support[k]);
        dist_json_close(j, '}');
    }
    dist_json_close(j, '}');
    dist_json_key(j, "confusion");
    dist_json_open(j, '[');
    for (int k = 0; k < r->K; k++) {
        dist_json_open(j, '[');
        for (int c = 0; c < r->K; c++) dist_json_int(j, r->conf[k][c]);
        dist_json_close(j, ']');
    }
    dist_json_close(j, ']');
    dist_json_key(j, "labels");
    dist_json_open(j, '[');
    for (int k = 0; k < r->K; k++) dist_json_str(j, r->classes[k]);
    dist_json_close(j, ']');
}

static int write_summary(const struct dist_report *r, struct err *e)
{
    struct dsp_out o;
    FILE *f = open_out(&o, r->run_dir, "summary.json", e);
    if (!f) return -1;
    struct dist_metrics m;
    dist_class_metrics(r->conf, r->K, &m);
    struct dist_json j;
    dist_json_init(&j, f);
    dist_json_open(&j, '{');
    dist_json_key(&j, "test_accuracy"), dist_json_num(&j, m.accuracy);
    dist_json_key(&j, "test_uar"), dist_json_num(&j, m.uar);
    dist_json_key(&j, "test_macro_f1"), dist_json_num(&j, m.macro_f1);
    dist_json_key(&j, "test_loss"), dist_json_num(&j, r->test_loss);
    if (r->test_speakers) dist_json_key(&j, "test_speakers"), dist_json_str(&j, r->test_speakers);
    json_per_class(&j, r, &m);
    dist_json_key(&j, "epochs_run"), dist_json_int(&j, r->epochs_run);
    dist_json_key(&j, "best_epoch"), dist_json_int(&j, r->best_epoch);
    dist_json_key(&j, "wall_seconds"), dist_json_num(&j, r->wall_seconds);
    dist_json_key(&j, "train_seconds"), dist_json_num(&j, r->train_seconds);
    dist_json_key(&j, "allreduce_fraction");
    dist_json_num(&j, r->train_seconds > 0 ? r->comm_seconds / r->train_seconds : 0);
    dist_json_key(&j, "ranks"), dist_json_int(&j, r->ranks);
    dist_json_key(&j, "threads"), dist_json_int(&j, r->threads);
    dist_json_key(&j, "files"), dist_json_int(&j, (long long)r->n_files);
    dist_json_key(&j, "skipped"), dist_json_int(&j, (long long)r->n_skipped);
    dist_json_key(&j, "train"), dist_json_int(&j, (long long)r->n_train);
    dist_json_key(&j, "val"), dist_json_int(&j, (long long)r->n_val);
    dist_json_key(&j, "test"), dist_json_int(&j, (long long)r->n_test);
    dist_json_key(&j, "parameters"), dist_json_int(&j, (long long)r->nparams);
    dist_json_key(&j, "model"), dist_json_str(&j, r->spec);
    dist_json_key(&j, "git_revision"), dist_json_str(&j, r->git_rev);
    dist_json_key(&j, "config");
    json_config(&j, r->options, r->cfg);
    dist_json_close(&j, '}');
    return close_out(&o, e);
}

static int write_confusion_tsv(const struct dist_report *r, struct err *e)
{
    struct dsp_out o;
    FILE *f = open_out(&o, r->run_dir, "confusion.tsv", e);
    if (!f) return -1;
    fprintf(f, "true\\predicted");
    for (int j = 0; j < r->K; j++) fprintf(f, "\t%s", r->classes[j]);
    fputc('\n', f);
    for (int k = 0; k < r->K; k++) {
        fprintf(f, "%s", r->classes[k]);
        for (int j = 0; j < r->K; j++) fprintf(f, "\t%lld", (long long)r->conf[k][j]);
        fputc('\n', f);
    }
    return close_out(&o, e);
}

void dist_md_confusion(FILE *f, const dist_conf conf, int K, const char *const *names)
{
    fprintf(f, "| |");
    for (int j = 0; j < K; j++) fprintf(f, " %s |", names[j]);
    fprintf(f, "\n| --- |");
    for (int j = 0; j < K; j++) fprintf(f, " ---: |");
    fputc('\n', f);
    for (int k = 0; k < K; k++) {
        fprintf(f, "| **%s** |", names[k]);
        for (int j = 0; j < K; j++) fprintf(f, " %lld |", (long long)conf[k][j]);
        fputc('\n', f);
    }
}

static int write_markdown(const struct dist_report *r, struct err *e)
{
    struct dsp_out o;
    FILE *f = open_out(&o, r->run_dir, "report.md", e);
    if (!f) return -1;
    struct dist_metrics m;
    dist_class_metrics(r->conf, r->K, &m);
    const double *best =
        r->best_epoch > 0 ? r->hist + (size_t)(r->best_epoch - 1) * DIST_H_COLS : NULL;
    fprintf(f, "# ser training report\n\n");
    fprintf(f, "| metric | value |\n| --- | --- |\n");
    fprintf(f,
            "| test accuracy (WA) | %.2f%% |\n| test UAR | %.2f%% |\n| test macro-F1 | %.4f |\n"
            "| test loss | %.4f |\n",
            100 * m.accuracy, 100 * m.uar, m.macro_f1, r->test_loss);
    if (r->test_speakers) fprintf(f, "| test speakers | %s |\n", r->test_speakers);
    if (best)
        fprintf(f,
                "| best epoch (restored) | %d (val_loss %.4f, val_accuracy %.2f%%, val_uar "
                "%.2f%%) |\n",
                r->best_epoch, best[DIST_H_VAL_LOSS], 100 * best[DIST_H_VAL_ACC],
                100 * best[DIST_H_VAL_UAR]);
    fprintf(f, "| epochs run | %d |\n| wall time | %.1f s |\n", r->epochs_run, r->wall_seconds);
    fprintf(f, "| ranks x threads | %d x %d |\n| time in collectives | %.1f%% of training |\n",
            r->ranks, r->threads,
            r->train_seconds > 0 ? 100 * r->comm_seconds / r->train_seconds : 0);
    fprintf(f, "| files | %zu usable, %zu skipped; train %zu, val %zu, test %zu |\n", r->n_files,
            r->n_skipped, r->n_train, r->n_val, r->n_test);
    fprintf(f, "| model | `%s` (%zu parameters) |\n| git revision | %s |\n\n", r->spec, r->nparams,
            r->git_rev);
    fprintf(f, "![learning curves](learning_curves.svg)\n\n");
    fprintf(f, "## Per class (test set)\n\n| class | precision | recall | F1 | support |\n"
               "| --- | --- | --- | --- | --- |\n");
    for (int k = 0; k < r->K; k++)
        fprintf(f, "| %s | %.4f | %.4f | %.4f | %lld |\n", r->classes[k], m.precision[k],
                m.recall[k], m.f1[k], (long long)m.support[k]);
    fprintf(f, "| **macro average** (%d classes present) | | **%.4f** (UAR) | **%.4f** | |\n\n",
            m.present, m.uar, m.macro_f1);
    fprintf(f, "## Confusion matrix (rows: true, columns: predicted)\n\n");
    dist_md_confusion(f, r->conf, r->K, r->classes);
    fprintf(f, "\n![confusion matrix](confusion.svg)\n\n");
    fprintf(f,
            "## Epochs\n\n| epoch | train loss | train acc | val loss | val acc | val UAR | lr | "
            "s | samples/s |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < r->epochs_run; i++) {
        const double *h = r->hist + (size_t)i * DIST_H_COLS;
        fprintf(f, "| %d%s | %.4f | %.4f | %.4f | %.4f | %.4f | %.3g | %.1f | %.0f |\n", i + 1,
                i + 1 == r->best_epoch ? " *" : "", h[DIST_H_TRAIN_LOSS], h[DIST_H_TRAIN_ACC],
                h[DIST_H_VAL_LOSS], h[DIST_H_VAL_ACC], h[DIST_H_VAL_UAR], h[DIST_H_LR],
                h[DIST_H_SECONDS], h[DIST_H_SAMPLES_PER_S]);
    }
    fprintf(f, "\n## Configuration\n\n```\n%s```\n", r->config);
    return close_out(&o, e);
}

/* ---- SVG ---- */

static void svg_axes(FILE *f, double x0, double y0, double w, double h, double ymin, double ymax,
                     int epochs, const char *title)
{
    fprintf(f, "<rect x='%g' y='%g' width='%g' height='%g' fill='white' stroke='#444'/>\n", x0, y0,
            w, h);
    fprintf(f, "<text x='%g' y='%g' text-anchor='middle' font-size='14'>%s</text>\n", x0 + w / 2,
            y0 - 8, title);
    for (int i = 0; i <= 5; i++) {
        double v = ymin + (ymax - ymin) * i / 5, y = y0 + h - h * i / 5;
        fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#ddd'/>\n", x0, y, x0 + w, y);
        fprintf(f, "<text x='%g' y='%g' text-anchor='end' font-size='11'>%.3g</text>\n", x0 - 4,
                y + 4, v);
    }
    int step = epochs > 10 ? (epochs + 9) / 10 : 1;
    for (int ep = 1; ep <= epochs; ep += step) {
        double x = x0 + (epochs > 1 ? w * (ep - 1) / (epochs - 1) : w / 2);
        fprintf(f, "<text x='%g' y='%g' text-anchor='middle' font-size='11'>%d</text>\n", x,
                y0 + h + 14, ep);
    }
    fprintf(f, "<text x='%g' y='%g' text-anchor='middle' font-size='12'>epoch</text>\n", x0 + w / 2,
            y0 + h + 30);
}

static void svg_line(FILE *f, double x0, double y0, double w, double h, double ymin, double ymax,
                     const double *hist, int epochs, int col, const char *color, int dashed)
{
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2'%s points='", color,
            dashed ? " stroke-dasharray='6,3'" : "");
    for (int i = 0; i < epochs; i++) {
        double v = hist[(size_t)i * DIST_H_COLS + col];
        double x = x0 + (epochs > 1 ? w * i / (epochs - 1) : w / 2);
        double y = y0 + h - h * (v - ymin) / (ymax - ymin);
        fprintf(f, "%.1f,%.1f ", x, y);
    }
    fprintf(f, "'/>\n");
}

int dist_svg_curves(const char *path, const double *hist, int epochs, int best_epoch, struct err *e)
{
    struct dsp_out o;
    if (dsp_out_open(&o, path, NULL, e)) return -1;
    FILE *f = o.f;
    double W = 900, H = 360, pw = 360, ph = 240;
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            W, H);
    for (int panel = 0; panel < 2; panel++) {
        int ct = panel ? DIST_H_TRAIN_ACC : DIST_H_TRAIN_LOSS;
        int cv = panel ? DIST_H_VAL_ACC : DIST_H_VAL_LOSS;
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < epochs; i++)
            for (int c = 0; c < 2; c++) {
                double v = hist[(size_t)i * DIST_H_COLS + (c ? cv : ct)];
                if (isfinite(v)) lo = fmin(lo, v), hi = fmax(hi, v);
            }
        if (!(hi > lo)) lo = isfinite(lo) ? lo - 0.5 : 0, hi = lo + 1;
        if (panel)
            lo = fmax(0, lo - 0.02), hi = fmin(1, hi + 0.02);
        else
            lo = fmax(0, lo - 0.05 * (hi - lo)), hi += 0.05 * (hi - lo);
        double x0 = 70 + panel * (pw + 90), y0 = 40;
        svg_axes(f, x0, y0, pw, ph, lo, hi, epochs, panel ? "accuracy" : "loss");
        if (best_epoch >= 1 && best_epoch <= epochs) {
            double x = x0 + (epochs > 1 ? pw * (best_epoch - 1) / (epochs - 1) : pw / 2);
            fprintf(f,
                    "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#999' "
                    "stroke-dasharray='2,3'/>\n",
                    x, y0, x, y0 + ph);
        }
        svg_line(f, x0, y0, pw, ph, lo, hi, hist, epochs, ct, "#1f77b4", 0);
        svg_line(f, x0, y0, pw, ph, lo, hi, hist, epochs, cv, "#d62728", 1);
    }
    fprintf(f, "<line x1='300' y1='335' x2='330' y2='335' stroke='#1f77b4' stroke-width='2'/>"
               "<text x='336' y='339' font-size='12'>train</text>\n"
               "<line x1='400' y1='335' x2='430' y2='335' stroke='#d62728' stroke-width='2' "
               "stroke-dasharray='6,3'/><text x='436' y='339' font-size='12'>validation</text>\n"
               "<line x1='530' y1='335' x2='560' y2='335' stroke='#999' "
               "stroke-dasharray='2,3'/><text x='566' y='339' font-size='12'>best epoch "
               "(restored)</text>\n</svg>\n");
    return dsp_out_commit(&o, e);
}

int dist_svg_confusion(const char *path, const dist_conf conf, int K, const char *const *names,
                       const char *title, struct err *e)
{
    struct dsp_out o;
    if (dsp_out_open(&o, path, NULL, e)) return -1;
    FILE *f = o.f;
    double cell = 56, x0 = 110, y0 = 60, n = K;
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            x0 + cell * n + 30, y0 + cell * n + 60);
    fprintf(f,
            "<text x='%g' y='20' text-anchor='middle' font-size='14'>confusion matrix "
            "(%s; rows true, columns predicted)</text>\n",
            x0 + cell * n / 2, title);
    for (int k = 0; k < K; k++) {
        long long row = 0;
        for (int j = 0; j < K; j++) row += conf[k][j];
        fprintf(f, "<text x='%g' y='%g' text-anchor='end' font-size='12'>%s</text>\n", x0 - 6,
                y0 + cell * k + cell / 2 + 4, names[k]);
        fprintf(f, "<text x='%g' y='%g' text-anchor='middle' font-size='12'>%s</text>\n",
                x0 + cell * k + cell / 2, y0 - 6, names[k]);
        for (int j = 0; j < K; j++) {
            double frac = row ? (double)conf[k][j] / (double)row : 0;
            int shade = (int)(255 - 200 * frac);
            fprintf(f,
                    "<rect x='%g' y='%g' width='%g' height='%g' fill='rgb(%d,%d,255)' "
                    "stroke='#fff'/>\n",
                    x0 + cell * j, y0 + cell * k, cell, cell, shade, shade);
            fprintf(f,
                    "<text x='%g' y='%g' text-anchor='middle' font-size='13' fill='%s'>%lld"
                    "</text>\n",
                    x0 + cell * j + cell / 2, y0 + cell * k + cell / 2 + 5,
                    frac > 0.6 ? "white" : "black", (long long)conf[k][j]);
        }
    }
    fprintf(f, "<text x='%g' y='%g' text-anchor='middle' font-size='12'>predicted</text>\n",
            x0 + cell * n / 2, y0 + cell * n + 24);
    fprintf(f, "</svg>\n");
    return dsp_out_commit(&o, e);
}

int dist_report_write(const struct dist_report *r, struct err *e)
{
    char path[4400];
    if (write_summary(r, e) || write_confusion_tsv(r, e) || write_markdown(r, e)) return -1;
    snprintf(path, sizeof path, "%s/learning_curves.svg", r->run_dir);
    if (dist_svg_curves(path, r->hist, r->epochs_run, r->best_epoch, e)) return -1;
    snprintf(path, sizeof path, "%s/confusion.svg", r->run_dir);
    return dist_svg_confusion(path, r->conf, r->K, r->classes, "test set", e);
}

int dist_report_print(const struct dist_report *r, FILE *f, struct err *e)
{
    struct dist_metrics m;
    dist_class_metrics(r->conf, r->K, &m);
    fprintf(f,
            "test accuracy %.4f  UAR %.4f  macro-F1 %.4f  loss %.4f  (best epoch %d of %d, %.1f "
            "s)  report: %s/report.md\n",
            m.accuracy, m.uar, m.macro_f1, r->test_loss, r->best_epoch, r->epochs_run,
            r->wall_seconds, r->run_dir);
    if (fflush(f) != 0 || ferror(f))
        return err_io(e, "cannot write the result to standard output: %s", strerror(errno));
    return 0;
}
