/* The batch processor: a bounded ring of items and one thread that exports them in
 * batches (when max_batch wait, every delay_ms, or on flush). */
#include <signal.h>
#include <time.h>

#include "core/mem.h"
#include "sdk_int.h"

struct osprey__batch {
    osprey__batch_config cfg;
    osprey__batch_ops ops;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the thread: a full batch, a flush, or stop */
    pthread_cond_t done; /* to flushers: finished moved on */
    void **ring;         /* cfg.max_queue slots */
    size_t head, count;  /* the oldest item and how many wait */
    void **scratch;      /* the batch being exported: cfg.max_batch slots */
    uint64_t added;      /* items accepted since creation */
    uint64_t finished;   /* items done with (exported or dropped), always oldest first */
    uint64_t flush_to;   /* export without waiting until finished reaches this */
    uint64_t failures;   /* exports that failed */
    uint64_t due_ns;     /* the next scheduled export (CLOCK_MONOTONIC) */
    bool stop;
    pthread_t thread;
};

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
    if (c)
        atomic_fetch_add(c, n);
}

/* An absolute CLOCK_MONOTONIC time for pthread_cond_timedwait. */
static struct timespec mono_abs(uint64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
                             .tv_nsec = (long)(ns % 1000000000u)};
}

/* True when the thread has a batch to export now (b->mu held). */
static bool batch_ready(const osprey__batch *b, uint64_t now)
{
    return b->count &&
           (b->count >= b->cfg.max_batch || b->flush_to > b->finished || now >= b->due_ns);
}

/* Exports up to max_batch of the oldest items with b->mu released, then frees them. */
static void export_one(osprey__batch *b)
{
    size_t n = b->count < b->cfg.max_batch ? b->count : b->cfg.max_batch;
    size_t cap = b->cfg.max_queue;
    for (size_t i = 0; i < n; i++)
        b->scratch[i] = b->ring[(b->head + i) % cap];
    b->head = (b->head + n) % cap;
    b->count -= n;
    pthread_mutex_unlock(&b->mu);
    uint64_t deadline = osprey__mono_ns() + (uint64_t)b->cfg.export_timeout_ms * 1000000u;
    int rc = b->ops.export(b->ops.ctx, b->scratch, n, deadline);
    for (size_t i = 0; i < n; i++)
        b->ops.free_item(b->ops.ctx, b->scratch[i]);
    count(rc ? b->ops.dropped : b->ops.exported, n);
    pthread_mutex_lock(&b->mu);
    b->finished += n;
    b->failures += rc != 0;
    pthread_cond_broadcast(&b->done);
}

static void *batch_thread(void *arg)
{
    osprey__batch *b = arg;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        uint64_t now = osprey__mono_ns();
        if (batch_ready(b, now)) {
            export_one(b);
            b->due_ns = osprey__mono_ns() + (uint64_t)b->cfg.delay_ms * 1000000u;
            continue;
        }
        if (now >= b->due_ns) /* nothing was due: start the next period */
            b->due_ns = now + (uint64_t)b->cfg.delay_ms * 1000000u;
        struct timespec ts = mono_abs(b->due_ns);
        pthread_cond_timedwait(&b->wake, &b->mu, &ts);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* Starts the thread with every signal blocked, so the application's handlers run on its
 * own threads. 0 or OSPREY_ENOMEM. */
static int start_thread(osprey__batch *b)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&b->thread, NULL, batch_thread, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err ? OSPREY_ENOMEM : 0;
}

static void batch_free(osprey__batch *b)
{
    pthread_cond_destroy(&b->wake);
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->mu);
    osp_free(b->ring);
    osp_free(b->scratch);
    osp_free(b);
}

int osprey__batch_create(const osprey__batch_config *c, const osprey__batch_ops *ops,
                         osprey__batch **out)
{
    *out = NULL;
    if (!c->max_queue || !c->max_batch || !c->delay_ms || !ops->export || !ops->free_item)
        return OSPREY_EINVAL;
    osprey__batch *b = osp_calloc(1, sizeof *b);
    if (!b)
        return OSPREY_ENOMEM;
    b->cfg = *c;
    if (b->cfg.max_batch > b->cfg.max_queue)
        b->cfg.max_batch = b->cfg.max_queue;
    b->ops = *ops;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->wake, &attr);
    pthread_cond_init(&b->done, &attr);
    pthread_condattr_destroy(&attr);
    b->due_ns = osprey__mono_ns() + (uint64_t)c->delay_ms * 1000000u;
    b->ring = osp_calloc(b->cfg.max_queue, sizeof *b->ring);
    b->scratch = osp_calloc(b->cfg.max_batch, sizeof *b->scratch);
    int rc = b->ring && b->scratch ? start_thread(b) : OSPREY_ENOMEM;
    if (rc) {
        batch_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

int osprey__batch_add(osprey__batch *b, void *item)
{
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    if (b->stop) {
        rc = OSPREY_ESHUTDOWN;
    } else if (b->count == b->cfg.max_queue) {
        count(b->ops.dropped, 1);
        rc = OSPREY_EFULL;
    } else {
        b->ring[(b->head + b->count) % b->cfg.max_queue] = item;
        b->added++;
        if (++b->count == b->cfg.max_batch)
            pthread_cond_signal(&b->wake);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int osprey__batch_flush(osprey__batch *b, uint32_t timeout_ms)
{
    uint64_t deadline = osprey__mono_ns() + (uint64_t)timeout_ms * 1000000u;
    struct timespec ts = mono_abs(deadline);
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    uint64_t target = b->added, failures = b->failures;
    if (b->flush_to < target) {
        b->flush_to = target;
        pthread_cond_signal(&b->wake);
    }
    while (b->finished < target && !rc)
        if (pthread_cond_timedwait(&b->done, &b->mu, &ts) != 0 && b->finished < target)
            rc = OSPREY_ETIMEDOUT;
    if (!rc && b->failures != failures)
        rc = OSPREY_EIO;
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int osprey__batch_destroy(osprey__batch *b, uint32_t timeout_ms)
{
    if (!b)
        return 0;
    int rc = osprey__batch_flush(b, timeout_ms);
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    for (size_t i = 0; i < b->count; i++)
        b->ops.free_item(b->ops.ctx, b->ring[(b->head + i) % b->cfg.max_queue]);
    count(b->ops.dropped, b->count);
    batch_free(b);
    return rc;
}
