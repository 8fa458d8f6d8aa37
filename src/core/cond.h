/* Condition variables whose timed waits run on CLOCK_MONOTONIC, immune to wall-clock
 * steps: the background threads' poll loops. */
#ifndef OSP_CORE_COND_H
#define OSP_CORE_COND_H

#include <pthread.h>
#include <stdint.h>

/* Initializes cv for osp_cond_wait_ms; destroy it with pthread_cond_destroy. */
void osp_cond_init_monotonic(pthread_cond_t *cv);

/* Waits on cv, initialized by osp_cond_init_monotonic, with mu held, for at most ms
 * milliseconds; returns on a signal, a spurious wake-up or the timeout alike. */
void osp_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, uint32_t ms);

#endif
