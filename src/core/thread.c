/* Named threads (core/thread.h). */
#include "core/thread.h"

#include <string.h>

int osp_thread_start(pthread_t *t, const char *name, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc == 0) {
        char cut[16];
        strncpy(cut, name, sizeof cut - 1);
        cut[sizeof cut - 1] = 0;
        pthread_setname_np(*t, cut);
    }
    return rc;
}
