/* metrics.h: classification metrics from a confusion matrix conf[true][predicted]. */
#ifndef SER_DIST_METRICS_H
#define SER_DIST_METRICS_H

#include <stdint.h>

#include "dsp/scan.h"

/* Fraction of the samples on the diagonal (0 for an empty matrix). */
double dist_accuracy(const int64_t conf[DSP_N_LABELS][DSP_N_LABELS]);

/* Precision, recall and F1 per class and their macro average; classes with no true and no
 * predicted samples count as 0 (sklearn's zero_division=0). Returns the accuracy. */
double dist_class_metrics(const int64_t conf[DSP_N_LABELS][DSP_N_LABELS],
                          double precision[DSP_N_LABELS], double recall[DSP_N_LABELS],
                          double f1[DSP_N_LABELS], double *macro_f1);

#endif
