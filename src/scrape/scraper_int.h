/* Private structures of the scrape manager, shared by scraper.c, target.c and scrape_loop.c. */
#ifndef OSP_SCRAPE_SCRAPER_INT_H
#define OSP_SCRAPE_SCRAPER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "core/arena.h"
#include "core/buf.h"
#include "model/labels.h"
#include "model/series.h"
#include "scrape/config.h"
#include "scrape/scraper.h"

/* A set of label sets, keyed by their serialized form. */
typedef struct osp__series_entry {
    uint64_t hash;
    const char *key; /* name 0xff value 0xff ..., in the set's arena */
    size_t len;
    int live; /* written without an explicit timestamp: gets a staleness marker when gone */
} osp__series_entry;

typedef struct osp__series_set {
    osp__series_entry *slots; /* open addressing, cap a power of two; key NULL = empty */
    size_t cap, n;
    osp_arena arena;
} osp__series_set;

/* What a target remembers between scrapes: the series of the last successful scrape. */
typedef struct osp__scrape_cache {
    osp__series_set sets[2];
    osp__series_set *prev, *cur; /* point into sets */
    int scraped;                 /* at least one scrape was reported */
} osp__scrape_cache;

/* A scrape's outcome as the transport saw it. */
typedef struct osp__scrape_input {
    osp_str body;         /* valid when error is NULL */
    osp_str content_type; /* of the response */
    const char *error;    /* transport or HTTP failure; NULL when the body arrived */
    int64_t t_ms;         /* wall-clock start of the scrape: the samples' timestamp */
    int64_t start_ns;     /* monotonic start, for scrape_duration_seconds */
} osp__scrape_input;

typedef struct osp__pool osp__pool;

typedef struct osp__target {
    osp__pool *pool;
    uint64_t hash;   /* of every label after relabeling and the URL: the target's identity */
    osp_arena arena; /* labels, discovered labels, url */
    osp_label *all;  /* labels after relabeling, "__" ones included, sorted */
    size_t nall;
    osp_label *labels; /* the target labels: no "__" labels, sorted */
    size_t nlabels;
    osp_label *discovered; /* before relabeling, sorted */
    size_t ndiscovered;
    const char *url;
    int64_t interval_ms, timeout_ms;
    osp__scrape_cache cache;

    /* Transport and scheduling, owned by the scrape thread. */
    CURL *easy;
    struct curl_slist *headers;
    osp_buf body;    /* capped at the body size limit */
    int body_rc;     /* why the write callback refused more: OSP_ETOOBIG or OSP_ENOMEM */
    char reason[64]; /* reason phrase of the last status line */
    char curl_err[CURL_ERROR_SIZE];
    int64_t next_ms; /* monotonic due time of the next scrape */
    size_t heap_idx; /* position in the scheduling heap; SIZE_MAX when not queued */
    int inflight;
    int64_t start_wall_ms, start_ns;
    int seen; /* found by the current sync */

    /* Status, read by osp_scraper_targets under the scraper's lock. */
    char last_error[256];
    int64_t last_scrape_ms;
    double last_duration;
    int health;
} osp__target;

/* Builds target number i of group g for job (Prometheus's PopulateLabels): discovered labels,
 * relabeling, default port, interval and timeout labels, instance, URL and hash, allocated in
 * t->arena (which the caller initialized). *keep is 0 when relabeling dropped the target.
 * Returns 0, OSP_EINVAL (the target is invalid; message in err) or OSP_ENOMEM. */
int osp__target_build(osp__target *t, const osp_scrape_job *job, const osp_target_group *g,
                      size_t i, int *keep, char *err, size_t errlen);


void osp__scrape_cache_init(osp__scrape_cache *c);
void osp__scrape_cache_cleanup(osp__scrape_cache *c);

/* Turns one scrape of t into b (reset by the caller): the samples with target labels and
 * metric relabeling applied, metadata, staleness markers for series gone since the previous
 * scrape (all of them when this one failed), and the report series. sample_limit 0 is none.
 * On return *up is 1 or 0 and err holds the scrape error ("" when up). Updates t->cache.
 * Returns 0 or OSP_ENOMEM. */
int osp__scrape_batch(osp__target *t, const osp_scrape_job *job, uint64_t sample_limit,
                      const osp__scrape_input *in, osp_series_batch *b, int *up, char *err,
                      size_t errlen);

/* Fills b with staleness markers at t_ms for the live series of t's last scrape and its report
 * series, as Prometheus does when a target goes away. Nothing when t was never scraped.
 * Returns 0 or OSP_ENOMEM. */
int osp__scrape_batch_stale(osp__target *t, int64_t t_ms, osp_series_batch *b);

#endif
