/* metrics.c: accuracy, precision, recall, F1 (see metrics.h). */
#include "mpi/metrics.h"

double dist_accuracy(const int64_t conf[DSP_N_LABELS][DSP_N_LABELS])
{
    int64_t t = 0, c = 0;
    for (int i = 0; i < DSP_N_LABELS; i++)
        for (int j = 0; j < DSP_N_LABELS; j++) {
            t += conf[i][j];
            if (i == j) c += conf[i][j];
        }
    return t ? (double)c / (double)t : 0;
}

double dist_class_metrics(const int64_t conf[DSP_N_LABELS][DSP_N_LABELS],
                          double precision[DSP_N_LABELS], double recall[DSP_N_LABELS],
                          double f1[DSP_N_LABELS], double *macro_f1)
{
    double mf = 0;
    for (int k = 0; k < DSP_N_LABELS; k++) {
        int64_t tp = conf[k][k], actual = 0, predicted = 0;
        for (int j = 0; j < DSP_N_LABELS; j++) {
            actual += conf[k][j];
            predicted += conf[j][k];
        }
        precision[k] = predicted ? (double)tp / (double)predicted : 0;
        recall[k] = actual ? (double)tp / (double)actual : 0;
        double s = precision[k] + recall[k];
        f1[k] = s > 0 ? 2 * precision[k] * recall[k] / s : 0;
        mf += f1[k];
    }
    *macro_f1 = mf / DSP_N_LABELS;
    return dist_accuracy(conf);
}
