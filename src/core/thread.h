/* The server's own threads, started with a name that top -H, ps -L and perf show. */
#ifndef OSP_CORE_THREAD_H
#define OSP_CORE_THREAD_H

#include <pthread.h>

/* pthread_create with default attributes, then names the thread name (cut to the
 * kernel's 15 bytes) before returning, so the name is there as soon as the thread is.
 * Returns pthread_create's result (0 or an errno value); a name that cannot be set is
 * no failure. */
int osp_thread_start(pthread_t *t, const char *name, void *(*fn)(void *), void *arg);

#endif
