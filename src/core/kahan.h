/* Compensated summation as Prometheus does it (kahanSumInc, Neumaier's variant). */
#ifndef OSP_CORE_KAHAN_H
#define OSP_CORE_KAHAN_H

#include <math.h>

/* *sum += inc, the rounding error collected in *comp (add it to *sum at the end). */
static inline void osp_kahan_inc(double inc, double *sum, double *comp)
{
    double t = *sum + inc;
    if (fabs(*sum) >= fabs(inc))
        *comp += (*sum - t) + inc;
    else
        *comp += (inc - t) + *sum;
    *sum = t;
}

#endif
