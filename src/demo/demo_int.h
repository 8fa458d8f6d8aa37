/* Internals shared by the demo fleet's files: options, services, HTTP glue, randomness. */
#ifndef OSP_DEMO_DEMO_INT_H
#define OSP_DEMO_DEMO_INT_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/http.h"
#include "osprey/osprey.h"

enum osp_demo_svc_id {
    OSP_DEMO_GATEWAY,
    OSP_DEMO_AGENT,
    OSP_DEMO_ROUTER,
    OSP_DEMO_LLM, /* the mock model server, on its own streaming listener */
    OSP_DEMO_TOOL,
    OSP_DEMO_VECTOR,
    OSP_DEMO_ORDERS,
    OSP_DEMO_PAYMENTS,
    OSP_DEMO_NSVC,
};

typedef struct osp_demo_opts {
    const char *endpoint;  /* OTLP/HTTP base URL */
    int64_t duration_ms;   /* 0: until SIGINT/SIGTERM */
    double rate;           /* conversations (and checkouts) started per second */
    double error_share;    /* share of calls given an injected fault, in [0, 1] */
    double delay_scale;    /* multiplies every simulated delay (TTFT, tokens, slow paths) */
    uint16_t base_port;    /* 0: ephemeral ports; else services on base_port + id */
    unsigned max_inflight; /* conversations running at once; past it new ones are shed */
    unsigned users;        /* distinct user ids the driver cycles through */
} osp_demo_opts;

typedef struct osp_demo_fleet osp_demo_fleet;

typedef struct osp_demo_svc {
    const char *name; /* service.name */
    osprey_provider *provider;
    osprey_tracer *tracer;
    osprey_meter *meter;
    osprey_logger *log;
    osprey_instrument *duration; /* http.server.request.duration, seconds */
    uint16_t port;               /* where it listens on 127.0.0.1 */
    osp_demo_fleet *fleet;
} osp_demo_svc;

struct osp_demo_fleet {
    osp_demo_opts opt;
    osp_demo_svc svc[OSP_DEMO_NSVC];
    atomic_bool stopping;                  /* set once the fleet winds down */
    atomic_uint_fast64_t requests, errors; /* driver requests sent, and those that failed */
    atomic_uint_fast64_t shed;             /* conversations not started (max_inflight) */
};

/* ---- Randomness and delays (demo_util.c) ---- */

/* Uniform in [0, 1), from a per-thread generator. */
double osp_demo_rand(void);
/* True with probability p. */
bool osp_demo_chance(double p);
/* Uniform integer in [lo, hi]. */
int64_t osp_demo_between(int64_t lo, int64_t hi);
/* A lognormal draw with the given median and shape sigma. */
double osp_demo_lognormal(double median, double sigma);
/* Sleeps ms milliseconds times the fleet's delay_scale; returns early once it stops. */
void osp_demo_pause(const osp_demo_fleet *f, double ms);
/* ms scaled by delay_scale, at least floor_ms: the timeouts that pair with the delays. */
uint32_t osp_demo_scaled_ms(const osp_demo_fleet *f, double ms, uint32_t floor_ms);

/* Copies the string value of "key" in the JSON text (first occurrence, escapes kept) into
 * out (cap bytes, NUL-terminated, cut to fit). False when absent. */
bool osp_demo_json_str(osp_str json, const char *key, char *out, size_t cap);
/* The integer value of "key" in the JSON text, or def when absent. */
int64_t osp_demo_json_int(osp_str json, const char *key, int64_t def);

/* ---- Serving requests (demo_http.c) ---- */

/* One request a service handles: its SERVER span, current on the thread meanwhile. */
typedef struct osp_demo_req {
    osp_demo_svc *svc;
    const char *route;
    osprey_carrier_context cc; /* the propagated context and baggage */
    osprey_span span;
    osprey_scope scope;
    uint64_t start_ns;
} osp_demo_req;

/* Begins handling a POST to route on svc: extracts traceparent, tracestate and baggage
 * through get from carrier, starts the SERVER span "POST route" as their child and makes
 * it current. Always pair with osp_demo_req_end on the same thread. */
void osp_demo_req_begin_carrier(osp_demo_req *r, osp_demo_svc *svc, const char *route,
                                osprey_header_get_fn get, void *carrier);
/* The same for a request of the network core (its headers are the carrier). */
void osp_demo_req_begin(osp_demo_req *r, osp_demo_svc *svc, const osp_http_request *http,
                        const char *route);
/* Ends it with the response status (0 is 200): http.response.status_code, status ERROR
 * for 5xx, the duration metric; detaches and ends the span, frees the context. */
void osp_demo_req_end(osp_demo_req *r, int status);
/* The decoded baggage member name of the request, or NULL. */
const char *osp_demo_req_baggage(const osp_demo_req *r, const char *name);
/* Sets res to status with a JSON body built from fmt. */
void osp_demo_reply(osp_http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* GET /metrics of a service (ctx: its osp_demo_svc): osprey_metrics_prometheus. */
void osp_demo_metrics_handler(const osp_http_request *req, osp_http_response *res, void *ctx);

/* ---- Calling other services (demo_http.c) ---- */

#define OSP_DEMO_MAX_BODY ((size_t)64 << 10) /* response bodies kept by the client */

/* Headers for an outgoing request: JSON content type, plus traceparent/tracestate for c
 * (when valid) and baggage for bag (may be NULL). NULL on out of memory. Free with
 * curl_slist_free_all. */
struct curl_slist *osp_demo_headers(const osprey_span_context *c, const osprey_baggage *bag);
/* POSTs body (body.n bytes) to url with headers, passing the response body to write (curl's
 * callback contract), within timeout_ms. The HTTP status goes to *status (0 when none came).
 * Returns curl's result code. */
CURLcode osp_demo_curl_post(const char *url, struct curl_slist *headers, osp_str body,
                            uint32_t timeout_ms, curl_write_callback write, void *arg,
                            long *status);
/* POSTs a JSON body to the service to on 127.0.0.1 under a CLIENT span of from ("POST
 * path"; from NULL: no span, as the load driver), propagating the thread's current
 * context and bag. The response body goes to out (initialised here, capped at
 * OSP_DEMO_MAX_BODY; the caller cleans it up). Returns the HTTP status, or 0 when no
 * response came (refused, timed out; the span records which). */
long osp_demo_post(osp_demo_svc *from, const osp_demo_svc *to, const char *path, osp_str body,
                   const osprey_baggage *bag, uint32_t timeout_ms, osp_buf *out);

/* ---- The services: request handlers (ctx is the service's osp_demo_svc) ---- */

void osp_demo_gateway_chat(const osp_http_request *req, osp_http_response *res, void *ctx);
void osp_demo_gateway_checkout(const osp_http_request *req, osp_http_response *res, void *ctx);
void osp_demo_agent_run(const osp_http_request *req, osp_http_response *res, void *ctx);
void osp_demo_router_chat(const osp_http_request *req, osp_http_response *res, void *ctx);
void osp_demo_tool_invoke(const osp_http_request *req, osp_http_response *res, void *ctx);
void osp_demo_vector_query(const osp_http_request *req, osp_http_response *res, void *ctx);
void osp_demo_orders_create(const osp_http_request *req, osp_http_response *res, void *ctx);
void osp_demo_payments_charge(const osp_http_request *req, osp_http_response *res, void *ctx);

/* ---- The mock LLM server (llm_mock.c) ---- */

typedef struct osp_demo_llm osp_demo_llm;

/* Starts the streaming mock of an OpenAI-style chat completions server for svc on
 * 127.0.0.1:port (0: ephemeral; the bound port goes to svc->port). 0, OSP_ENOMEM,
 * OSP_EIO. */
int osp_demo_llm_start(osp_demo_svc *svc, uint16_t port, osp_demo_llm **out);
/* Stops accepting, waits for the streams in progress to finish, frees m (NULL is fine). */
void osp_demo_llm_stop(osp_demo_llm *m);

/* ---- The load driver (driver.c) ---- */

/* Sends load until f->stopping is set or the duration passes (then sets stopping):
 * each 1/rate s a multi-turn conversation and a checkout, each on its own thread, at
 * most max_inflight at once. Returns once every thread it started has finished. */
void osp_demo_driver_run(osp_demo_fleet *f);

#endif
