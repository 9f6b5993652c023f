/* metrics.c: accuracy, per-class and macro metrics (see metrics.h). */
#include "mpi/metrics.h"

#include <string.h>

double dist_accuracy(const dist_conf conf, int K)
{
    int64_t t = 0, c = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            t += conf[i][j];
            if (i == j) c += conf[i][j];
        }
    return t ? (double)c / (double)t : 0;
}

double dist_class_metrics(const dist_conf conf, int K, struct dist_metrics *m)
{
    memset(m, 0, sizeof *m);
    for (int k = 0; k < K; k++) {
        int64_t tp = conf[k][k], actual = 0, predicted = 0;
        for (int j = 0; j < K; j++) {
            actual += conf[k][j];
            predicted += conf[j][k];
        }
        m->support[k] = actual;
        m->precision[k] = predicted ? (double)tp / (double)predicted : 0;
        m->recall[k] = actual ? (double)tp / (double)actual : 0;
        double s = m->precision[k] + m->recall[k];
        m->f1[k] = s > 0 ? 2 * m->precision[k] * m->recall[k] / s : 0;
        if (actual) {
            m->present++;
            m->uar += m->recall[k];
            m->macro_f1 += m->f1[k];
        }
    }
    if (m->present) m->uar /= m->present, m->macro_f1 /= m->present;
    m->accuracy = dist_accuracy(conf, K);
    return m->accuracy;
}
