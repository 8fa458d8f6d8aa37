/* The scrape manager: discovers targets from a scrape configuration, scrapes them over HTTP on
 * their intervals and hands each scrape's series to an append callback, as Prometheus does. */
#ifndef OSP_SCRAPE_SCRAPER_H
#define OSP_SCRAPE_SCRAPER_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/labels.h"
#include "model/series.h"
#include "scrape/config.h"

typedef struct osp_scraper osp_scraper;

/* Receives one scrape's samples, staleness markers, report series and metadata. Called on the
 * scrape thread; the batch and everything it points to are valid only during the call.
 * Returns 0, or a negative error with a message in err (logged; the scrape keeps its health). */
typedef int (*osp_scrape_append_fn)(void *ctx, const osp_series_batch *b, char *err, size_t errlen);

/* Limits that the configuration does not carry; zeroed fields take the defaults. */
typedef struct osp_scraper_opts {
    osp_scrape_append_fn append; /* required */
    void *ctx;                   /* passed to append */
    uint64_t sample_limit;       /* samples per scrape after metric relabeling; 0 = none */
    size_t body_size_limit;      /* uncompressed body bytes; 0 = OSP_SCRAPE_DEFAULT_BODY_LIMIT */
    int64_t file_sd_check_ms;    /* how often file_sd files are checked for changes; 0 = 1000 */
} osp_scraper_opts;

#define OSP_SCRAPE_DEFAULT_BODY_LIMIT (64u * 1024 * 1024)

/* The Accept header of every scrape: OpenMetrics preferred, text 0.0.4 as the fallback. */
#define OSP_SCRAPE_ACCEPT                                                                          \
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"       \
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

enum osp_target_health { OSP_TARGET_UNKNOWN = 0, OSP_TARGET_UP, OSP_TARGET_DOWN };

/* One active target as /api/v1/targets lists it. Everything lives in the caller's arena. */
typedef struct osp_target_status {
    const char *scrape_pool; /* the job name */
    const char *scrape_url;  /* "http://host:port/metrics?param=value" */
    const char *global_url;  /* same as scrape_url (no external URL rewriting) */
    osp_label *labels;       /* target labels, sorted, no "__" labels */
    size_t nlabels;
    osp_label *discovered_labels; /* before relabeling, sorted */
    size_t ndiscovered_labels;
    const char *last_error;      /* "" after a successful scrape */
    int64_t last_scrape_ms;      /* wall-clock start of the last scrape; 0 = never */
    double last_scrape_duration; /* seconds */
    int64_t interval_ms, timeout_ms;
    int health; /* enum osp_target_health */
} osp_target_status;

/* Creates a stopped scraper for every job of cfg. cfg is borrowed and must outlive the scraper;
 * opts is copied. Returns 0, OSP_EINVAL (no append callback; message in err) or OSP_ENOMEM. */
int osp_scraper_create(const osp_scrape_config *cfg, const osp_scraper_opts *opts,
                       osp_scraper **out, char *err, size_t errlen);

/* Discovers the targets (static and file_sd; unreadable files are logged and skipped) and starts
 * the scrape thread. Returns 0, OSP_EBUSY when already running, OSP_ENOMEM or OSP_EIO (thread or
 * libcurl setup failed). */
int osp_scraper_start(osp_scraper *s);

/* Stops the scrape thread, waits for it and frees every target; no staleness markers are
 * written (Prometheus does not either on shutdown). The scraper can be started again. A
 * stopped scraper is fine. */
void osp_scraper_stop(osp_scraper *s);

/* Stops the scraper if running and frees it; NULL is fine. */
void osp_scraper_destroy(osp_scraper *s);

/* Lists the active targets, pools in configuration order and targets by URL within a pool,
 * copied into arena. Safe from any thread. Returns 0 or OSP_ENOMEM. */
int osp_scraper_targets(osp_scraper *s, osp_arena *arena, osp_target_status **out, size_t *nout);

#endif
