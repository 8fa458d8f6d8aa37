/* The demo's load driver: multi-turn conversations of several users through the gateway
 * and plain checkouts, started at a fixed rate, each on its own thread. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "demo/demo_int.h"

#define CHAT_TIMEOUT_MS 120000.0
#define THINK_MS_MIN 200
#define THINK_MS_MAX 1500
#define TICK_MAX_NS 50000000ull /* the longest sleep between checks for stopping */

static const char *const QUESTIONS[] = {
    "Where is my order?",
    "Can I change the delivery address?",
    "What will the weather be in Lisbon tomorrow?",
    "Summarise my last three invoices",
    "Why was my card declined?",
    "Recommend a laptop bag under 50 euros",
};
#define NQUESTIONS (sizeof QUESTIONS / sizeof QUESTIONS[0])

typedef struct driver {
    osp_demo_fleet *fleet;
    atomic_uint inflight; /* threads running a job */
    unsigned next_user;
} driver;

typedef struct job {
    driver *d;
    bool checkout; /* else a conversation */
    unsigned user;
} job;

/* Sends one request to the gateway and counts it. */
static void send_request(osp_demo_fleet *f, const char *path, const char *body,
                         const osprey_baggage *bag)
{
    osp_buf out;
    long status = osp_demo_post(NULL, &f->svc[OSP_DEMO_GATEWAY], path, osp_str_c(body), bag,
                                osp_demo_scaled_ms(f, CHAT_TIMEOUT_MS, 5000), &out);
    osp_buf_cleanup(&out);
    atomic_fetch_add(&f->requests, 1);
    if (status != 200)
        atomic_fetch_add(&f->errors, 1);
}

static void conversation(osp_demo_fleet *f, const osprey_baggage *bag)
{
    char body[160];
    int64_t turns = osp_demo_between(2, 4);
    for (int64_t i = 0; i < turns && !atomic_load(&f->stopping); i++) {
        snprintf(body, sizeof body, "{\"turn\":%lld,\"message\":\"%s\"}", (long long)i,
                 QUESTIONS[osp_demo_between(0, NQUESTIONS - 1)]);
        send_request(f, "/chat", body, bag);
        osp_demo_pause(f, (double)osp_demo_between(THINK_MS_MIN, THINK_MS_MAX));
    }
}

static void checkout(osp_demo_fleet *f, const osprey_baggage *bag)
{
    char body[64];
    snprintf(body, sizeof body, "{\"amount_cents\":%lld}", (long long)osp_demo_between(500, 25000));
    send_request(f, "/checkout", body, bag);
}

static void *job_main(void *arg)
{
    job *j = arg;
    driver *d = j->d;
    char user[32], conv[40];
    snprintf(user, sizeof user, "user-%u", j->user);
    snprintf(conv, sizeof conv, "conv-%012llx",
             (unsigned long long)osp_demo_between(0, 0xffffffffffffll));
    osprey_baggage *bag = osprey_baggage_create();
    if (bag && !osprey_baggage_set(bag, "user.id", user) &&
        !osprey_baggage_set(bag, "conversation.id", conv)) {
        if (j->checkout)
            checkout(d->fleet, bag);
        else
            conversation(d->fleet, bag);
    }
    osprey_baggage_destroy(bag);
    osp_free(j);
    atomic_fetch_sub(&d->inflight, 1);
    return NULL;
}

/* Starts a job on a detached thread, or sheds it past max_inflight. */
static void start_job(driver *d, bool is_checkout)
{
    osp_demo_fleet *f = d->fleet;
    pthread_attr_t attr;
    pthread_t t;
    job *j = NULL;
    if (atomic_load(&d->inflight) >= f->opt.max_inflight || !(j = osp_malloc(sizeof *j))) {
        atomic_fetch_add(&f->shed, 1);
        return;
    }
    *j = (job){d, is_checkout, d->next_user++ % f->opt.users};
    atomic_fetch_add(&d->inflight, 1);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, job_main, j)) {
        atomic_fetch_sub(&d->inflight, 1);
        atomic_fetch_add(&f->shed, 1);
        osp_free(j);
    }
    pthread_attr_destroy(&attr);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

void osp_demo_driver_run(osp_demo_fleet *f)
{
    driver d = {.fleet = f};
    uint64_t start = osp_clock_ns(CLOCK_MONOTONIC), next = start;
    uint64_t period = (uint64_t)(1e9 / f->opt.rate);
    uint64_t stop_at = f->opt.duration_ms ? start + (uint64_t)f->opt.duration_ms * 1000000u : 0;
    while (!atomic_load(&f->stopping)) {
        uint64_t now = osp_clock_ns(CLOCK_MONOTONIC);
        if (stop_at && now >= stop_at)
            break;
        if (now >= next) {
            start_job(&d, false);
            start_job(&d, true);
            next += period;
            continue;
        }
        sleep_ns(next - now < TICK_MAX_NS ? next - now : TICK_MAX_NS);
    }
    atomic_store(&f->stopping, true);
    while (atomic_load(&d.inflight) > 0)
        sleep_ns(TICK_MAX_NS / 5);
}
