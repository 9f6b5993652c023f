/* metrics.h: classification metrics from a confusion matrix conf[true][predicted] over K
 * classes (K <= DSP_N_LABELS; the matrix is stored DSP_N_LABELS wide).
 *
 * Accuracy (weighted accuracy, WA): the diagonal over the total. Per class: precision, recall
 * and F1 (0 where undefined: sklearn's zero_division=0). The macro averages (UAR = mean
 * recall, macro-F1) run over the classes PRESENT in the evaluated set (support > 0), as
 * sklearn's recall_score / f1_score(average='macro', labels=those classes): a class with no
 * test files does not count as 0. */
#ifndef SER_DIST_METRICS_H
#define SER_DIST_METRICS_H

#include <stdint.h>

#include "dsp/corpora.h"

typedef int64_t dist_conf[DSP_N_LABELS][DSP_N_LABELS];

struct dist_metrics {
    double accuracy, uar, macro_f1;
    double precision[DSP_N_LABELS], recall[DSP_N_LABELS], f1[DSP_N_LABELS];
    int64_t support[DSP_N_LABELS];
    int present; /* classes with support > 0 */
};

double dist_accuracy(const dist_conf conf, int K);
/* Fills m; returns m->accuracy. */
double dist_class_metrics(const dist_conf conf, int K, struct dist_metrics *m);

#endif
