/* osprey-loadgen: pre-encodes the benchmark workload, loads it into Osprey or ClickHouse,
 * and measures fetch and search latency. Live demo traffic is `osprey demo` (src/demo). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "benchutil.h"
#include "chpeer.h"
#include "core/endian.h"
#include "core/err.h"
#include "core/mem.h"
#include "gen.h"
#include "model/attr.h"
#include "proto/otlp.h"

#define MAX_REQUEST_BYTES (64u << 20)

static void usage(void)
{
    fputs("usage:\n"
          "  osprey-loadgen gen --out DIR --spans N [--batch 512] [--seed 42] [--base-ns NS]\n"
          "      [--traces-per-sec R] [--ch-spans M] [--ch-batch 8192] [--otlp-only]\n"
          "      pre-encode whole traces in requests of about --batch spans: DIR/otlp.pack\n"
          "      (OTLP protobuf), DIR/ch.pack (the same rows as ClickHouse RowBinary, same\n"
          "      requests, first M spans only), DIR/ch-big.pack (all rows, requests of about\n"
          "      --ch-batch rows), DIR/traces.bin (per trace: 16-byte id, u32 LE span count),\n"
          "      and the first request as single bodies for h2load (h2load.pb,\n"
          "      h2load.grpc, h2load.rb); --otlp-only writes no ClickHouse rows\n"
          "  osprey-loadgen load --url URL --pack FILE [--content-type T] [--concurrency C]\n"
          "      POST every record of a pack over HTTP/1.1 keep-alive connections; retries\n"
          "      503/429 (and ClickHouse's 'too many parts') with backoff\n"
          "  osprey-loadgen trace-latency --url BASE --traces FILE [--requests N] [--seed S]\n"
          "      [--clickhouse DB] [--max-seconds T]\n"
          "  osprey-loadgen search-latency --url BASE [--requests N] [--seed S] [--clickhouse DB]\n"
          "      [--start NS] [--end NS] [--max-seconds T]\n"
          "      sequential requests through one reused connection; prints p50/p99 and\n"
          "      checks that every trace comes back whole\n"
          "  osprey-loadgen ch-setup --url URL --db DB    create the ClickHouse schema\n"
          "  osprey-loadgen free-port                     print a free TCP port on 127.0.0.1\n"
          "  osprey-loadgen selftest   check that the workload decodes back to the same rows\n"
          "Measurements print as key=value lines.\n",
          stderr);
}

/* ---- small helpers ---- */

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "loadgen: cannot write %s: %s\n", path, strerror(errno));
        return OSP_EIO;
    }
    return 0;
}

/* ---- gen ---- */

/* Output of one gen run. */
typedef struct gen_out {
    const char *dir;
    FILE *otlp, *ch, *chbig; /* ch and chbig are NULL with --otlp-only */
    osp_buf pb, rb, big; /* current request bodies; `big` accumulates ClickHouse rows */
    uint32_t big_spans;
    uint64_t spans, requests, attrs, pb_bytes, rb_bytes, first_ns, last_ns;
} gen_out;

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        fprintf(stderr, "loadgen: cannot create %s: %s\n", path, strerror(errno));
    return f;
}

/* The first request also goes to single files for h2load: raw protobuf, gRPC-framed
 * (5-byte prefix: compressed flag, big-endian length) and RowBinary. */
static int write_h2load_bodies(gen_out *go, size_t nspans)
{
    uint8_t frame[5] = {0, (uint8_t)(go->pb.len >> 24), (uint8_t)(go->pb.len >> 16),
                        (uint8_t)(go->pb.len >> 8), (uint8_t)go->pb.len};
    osp_buf grpc;
    char n[32];
    int k = snprintf(n, sizeof n, "%zu\n", nspans);
    osp_buf_init(&grpc, 0);
    int rc = osp_buf_append(&grpc, frame, 5);
    if (rc == 0)
        rc = osp_buf_append(&grpc, go->pb.data, go->pb.len);
    if (rc == 0)
        rc = write_file(go->dir, "h2load.pb", go->pb.data, go->pb.len);
    if (rc == 0)
        rc = write_file(go->dir, "h2load.grpc", grpc.data, grpc.len);
    if (rc == 0 && go->chbig)
        rc = write_file(go->dir, "h2load.rb", go->rb.data, go->rb.len);
    if (rc == 0)
        rc = write_file(go->dir, "h2load.spans", n, (size_t)k);
    osp_buf_cleanup(&grpc);
    return rc;
}

/* Encodes one batch into every output. */
static int gen_emit(gen_out *go, osp_span_batch *b, uint64_t ch_spans, uint64_t ch_batch)
{
    osp_buf_reset(&go->pb);
    osp_buf_reset(&go->rb);
    int rc = osp_gen_group(b);
    if (rc == 0)
        rc = osp_otlp_traces_encode_pb(b, &go->pb);
    if (rc == 0 && go->chbig)
        rc = osp_ch_rowbinary(b, &go->rb);
    if (rc == 0)
        rc = osp_bench_pack_write(go->otlp, go->pb.data, go->pb.len, (uint32_t)b->nspans);
    if (rc == 0 && go->ch && go->spans < ch_spans)
        rc = osp_bench_pack_write(go->ch, go->rb.data, go->rb.len, (uint32_t)b->nspans);
    if (rc == 0 && go->requests == 0)
        rc = write_h2load_bodies(go, b->nspans);
    if (rc == 0 && go->chbig) /* RowBinary rows concatenate: big requests are runs of small ones */
        rc = osp_buf_append(&go->big, go->rb.data, go->rb.len);
    go->big_spans += (uint32_t)b->nspans;
    if (rc == 0 && go->chbig && go->big_spans >= ch_batch) {
        rc = osp_bench_pack_write(go->chbig, go->big.data, go->big.len, go->big_spans);
        osp_buf_reset(&go->big);
        go->big_spans = 0;
    }
    for (size_t i = 0; rc == 0 && i < b->nspans; i++) {
        const osp_span *s = &b->spans[i];
        go->attrs += osp_attr_count(s->attributes);
        if (!go->first_ns || s->start_ns < go->first_ns)
            go->first_ns = s->start_ns;
        if (s->end_ns > go->last_ns)
            go->last_ns = s->end_ns;
    }
    go->spans += b->nspans;
    go->requests++;
    go->pb_bytes += go->pb.len;
    go->rb_bytes += go->rb.len;
    return rc;
}

static int cmd_gen(const osp_bench_opts *o)
{
    const char *dir = osp_bench_opt_str(o, "--out", NULL);
    uint64_t target = osp_bench_opt_u64(o, "--spans", 0),
             batch = osp_bench_opt_u64(o, "--batch", 512);
    uint64_t ch_spans = osp_bench_opt_u64(o, "--ch-spans", target);
    uint64_t ch_batch = osp_bench_opt_u64(o, "--ch-batch", 8192);
    if (!dir || !target || !batch || !ch_batch) {
        usage();
        return 2;
    }
    osp_gen_options gopt = {
        .seed = osp_bench_opt_u64(o, "--seed", 42),
        .base_ns =
            osp_bench_opt_u64(o, "--base-ns", 1795132800000000000ULL), /* 2026-11-21T00:00Z */
        .traces_per_sec = strtod(osp_bench_opt_str(o, "--traces-per-sec", "100"), NULL),
    };
    gen_out go = {.dir = dir};
    osp_gen *g = NULL;
    osp_span_batch b;
    osp_buf ids;
    uint64_t t0 = osp_bench_now_ns(CLOCK_MONOTONIC);
    int rc = 0;

    osp_span_batch_init(&b);
    osp_buf_init(&go.pb, MAX_REQUEST_BYTES);
    osp_buf_init(&go.rb, 0);
    osp_buf_init(&go.big, 0);
    osp_buf_init(&ids, 0);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "loadgen: cannot create %s: %s\n", dir, strerror(errno));
        rc = OSP_EIO;
    }
    if (rc == 0) {
        go.otlp = open_out(dir, "otlp.pack");
        int ch = !osp_bench_opt_flag(o, "--otlp-only");
        go.ch = ch ? open_out(dir, "ch.pack") : NULL;
        go.chbig = ch ? open_out(dir, "ch-big.pack") : NULL;
        rc = go.otlp && (!ch || (go.ch && go.chbig)) ? osp_gen_create(&gopt, &g) : OSP_EIO;
    }
    while (rc == 0 && go.spans < target) {
        osp_span_batch_reset(&b);
        rc = osp_gen_fill(g, &b, (size_t)batch, &ids);
        if (rc == 0)
            rc = gen_emit(&go, &b, ch_spans, ch_batch);
    }
    if (rc == 0 && go.chbig && go.big_spans)
        rc = osp_bench_pack_write(go.chbig, go.big.data, go.big.len, go.big_spans);
    if (rc == 0)
        rc = write_file(dir, "traces.bin", ids.data, ids.len);
    FILE *files[] = {go.otlp, go.ch, go.chbig};
    for (int i = 0; i < 3; i++)
        if (files[i] && fclose(files[i]) != 0 && rc == 0)
            rc = OSP_EIO;
    double secs = (double)(osp_bench_now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    if (rc == 0) {
        double n = (double)go.spans;
        printf("requests=%llu\nspans=%llu\ntraces=%zu\nspans_per_request=%.1f\n"
               "attrs_per_span=%.2f\notlp_bytes_per_span=%.1f\nrowbinary_bytes_per_span=%.1f\n"
               "first_ns=%llu\nlast_ns=%llu\ngen_seconds=%.2f\n",
               (unsigned long long)go.requests, (unsigned long long)go.spans, ids.len / 20,
               n / (double)go.requests, (double)go.attrs / n, (double)go.pb_bytes / n,
               (double)go.rb_bytes / n, (unsigned long long)go.first_ns,
               (unsigned long long)go.last_ns, secs);
    } else {
        fprintf(stderr, "loadgen gen: %s\n", osp_strerror(rc));
    }
    osp_gen_destroy(g);
    osp_span_batch_cleanup(&b);
    osp_buf_cleanup(&go.pb);
    osp_buf_cleanup(&go.rb);
    osp_buf_cleanup(&go.big);
    osp_buf_cleanup(&ids);
    return rc ? 1 : 0;
}

/* ---- load: many keep-alive connections through one curl multi handle ---- */

typedef struct xfer {
    CURL *h;
    size_t rec;      /* record in flight, SIZE_MAX when idle */
    uint64_t due_ns; /* after a failure: this connection sends nothing before then */
    unsigned tries;
    osp_buf body;
} xfer;

static int cmd_load(const osp_bench_opts *o)
{
    const char *url = osp_bench_opt_str(o, "--url", NULL),
               *packf = osp_bench_opt_str(o, "--pack", NULL);
    const char *ctype = osp_bench_opt_str(o, "--content-type", "application/x-protobuf");
    size_t conc = (size_t)osp_bench_opt_u64(o, "--concurrency", 4);
    if (!url || !packf || conc == 0 || conc > 256) {
        usage();
        return 2;
    }
    osp_bench_pack pk;
    if (osp_bench_pack_open(packf, "loadgen", &pk) != 0) {
        osp_bench_pack_close(&pk);
        return 1;
    }
    char hdr[256];
    snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
    struct curl_slist *hl = curl_slist_append(NULL, hdr);
    hl = curl_slist_append(hl, "Expect:");
    CURLM *m = curl_multi_init();
    xfer *x = osp_calloc(conc, sizeof *x);
    size_t next = 0, done = 0;
    size_t *retry = osp_malloc((pk.n + 1) * sizeof *retry); /* records to send again */
    size_t nretry = 0;
    uint64_t spans = 0, retries = 0, failed = 0;
    double cpu0 = osp_bench_cpu_seconds();
    uint64_t t0 = osp_bench_now_ns(CLOCK_MONOTONIC);
    int running = 0;
    if (!m || !x || !retry) {
        fprintf(stderr, "loadgen load: out of memory\n");
        return 1;
    }
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
    for (size_t i = 0; i < conc; i++) {
        x[i].h = curl_easy_init();
        x[i].rec = SIZE_MAX;
        osp_buf_init(&x[i].body, 0);
        curl_easy_setopt(x[i].h, CURLOPT_URL, url);
        curl_easy_setopt(x[i].h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(x[i].h, CURLOPT_WRITEFUNCTION, osp_bench_keep_start_cb);
        curl_easy_setopt(x[i].h, CURLOPT_WRITEDATA, &x[i].body);
        curl_easy_setopt(x[i].h, CURLOPT_PRIVATE, &x[i]);
        curl_easy_setopt(x[i].h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(x[i].h, CURLOPT_TCP_NODELAY, 1L);
    }
    while (done < pk.n && failed < 10) {
        uint64_t now = osp_bench_now_ns(CLOCK_MONOTONIC);
        for (size_t i = 0; i < conc; i++) { /* start idle transfers */
            if (x[i].rec != SIZE_MAX || x[i].due_ns > now)
                continue;
            size_t r;
            if (nretry)
                r = retry[--nretry];
            else if (next < pk.n)
                r = next++;
            else
                continue;
            x[i].rec = r;
            osp_buf_reset(&x[i].body);
            curl_easy_setopt(x[i].h, CURLOPT_POSTFIELDS, (const char *)pk.rec[r].body);
            curl_easy_setopt(x[i].h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pk.rec[r].len);
            curl_multi_add_handle(m, x[i].h);
        }
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 5, NULL);
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *t;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(m, msg->easy_handle);
            if (res == CURLE_OK && code >= 200 && code < 300) {
                spans += pk.rec[t->rec].count;
                done++;
                t->tries = 0;
            } else {
                int busy =
                    res == CURLE_OK && (code == 503 || code == 429 ||
                                        (code == 500 && t->body.len &&
                                         memmem(t->body.data, t->body.len, "Too many parts", 14)));
                if (busy || t->tries < 3) {
                    retries++;
                    t->tries++;
                    t->due_ns =
                        osp_bench_now_ns(CLOCK_MONOTONIC) + (busy ? 200 : 1000) * 1000000ULL;
                    retry[nretry++] = t->rec;
                } else {
                    failed++;
                    done++;
                    fprintf(stderr, "loadgen load: record %zu failed: %s, HTTP %ld: %.*s\n", t->rec,
                            curl_easy_strerror(res), code, (int)t->body.len,
                            t->body.data ? t->body.data : "");
                }
            }
            t->rec = SIZE_MAX;
        }
    }
    double secs = (double)(osp_bench_now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    printf("requests=%zu\nspans=%llu\nseconds=%.3f\nspans_per_s=%.0f\nretries=%llu\n"
           "failed=%llu\nloader_cpu_s=%.2f\n",
           done, (unsigned long long)spans, secs, (double)spans / secs, (unsigned long long)retries,
           (unsigned long long)failed, osp_bench_cpu_seconds() - cpu0);
    for (size_t i = 0; i < conc; i++) {
        curl_multi_remove_handle(m, x[i].h);
        curl_easy_cleanup(x[i].h);
        osp_buf_cleanup(&x[i].body);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hl);
    osp_free(x);
    osp_free(retry);
    osp_bench_pack_close(&pk);
    return failed ? 1 : 0;
}

/* ---- latency ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Spans in a trace answer: rows of ClickHouse's TSV, or spans of an OTLP/JSON document
 * (only spans have a "startTimeUnixNano"). */
static uint32_t count_spans(const osp_buf *body, int clickhouse)
{
    const char *needle = clickhouse ? "\n" : "\"startTimeUnixNano\"";
    size_t nl = strlen(needle);
    uint32_t n = 0;
    const char *p = body->data, *end = body->data + body->len;
    while (p && p < end && (p = memmem(p, (size_t)(end - p), needle, nl))) {
        n++;
        p += nl;
    }
    return n;
}

static void report_latency(const char *what, uint64_t *lat, size_t n, size_t errors, uint64_t bytes,
                           uint64_t empty, uint64_t incomplete)
{
    qsort(lat, n, sizeof *lat, cmp_u64);
    double p50 = n ? (double)lat[(n - 1) / 2] / 1e6 : 0;
    double p99 = n ? (double)lat[(size_t)((double)(n - 1) * 0.99)] / 1e6 : 0;
    double mx = n ? (double)lat[n - 1] / 1e6 : 0;
    printf("kind=%s\nrequests=%zu\nerrors=%zu\nempty=%llu\nincomplete=%llu\np50_ms=%.3f\n"
           "p99_ms=%.3f\nmax_ms=%.3f\navg_response_bytes=%.0f\n",
           what, n, errors, (unsigned long long)empty, (unsigned long long)incomplete, p50, p99, mx,
           n ? (double)bytes / (double)n : 0.0);
}

static int cmd_latency(const osp_bench_opts *o, int search)
{
    const char *base = osp_bench_opt_str(o, "--url", NULL),
               *idsf = osp_bench_opt_str(o, "--traces", NULL);
    const char *db = osp_bench_opt_str(o, "--clickhouse", NULL);
    size_t nreq = (size_t)osp_bench_opt_u64(o, "--requests", 2000), warm = 20;
    uint64_t seed = osp_bench_opt_u64(o, "--seed", 7) | 1;
    uint64_t start_ns = osp_bench_opt_u64(o, "--start", 0),
             end_ns = osp_bench_opt_u64(o, "--end", 0);
    uint64_t max_ns = osp_bench_opt_u64(o, "--max-seconds", 0) * 1000000000ULL;
    uint64_t began = osp_bench_now_ns(CLOCK_MONOTONIC);
    if (!base || (!search && !idsf)) {
        usage();
        return 2;
    }
    const uint8_t *idp = NULL;
    size_t nids = 0, idsize = 0;
    if (!search) {
        int fd = open(idsf, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 16) {
            fprintf(stderr, "loadgen: cannot read %s\n", idsf);
            return 1;
        }
        idp = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (idp == MAP_FAILED)
            return 1;
        idsize = (size_t)st.st_size;
        nids = idsize / 20;
    }
    size_t nsearch;
    const osp_gen_search *srch = osp_gen_searches(&nsearch);
    CURL *h = curl_easy_init();
    osp_buf body, q, url;
    osp_buf_init(&body, 0);
    osp_buf_init(&q, 0);
    osp_buf_init(&url, 0);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, osp_bench_keep_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    uint64_t *lat = osp_malloc(nreq * sizeof *lat);
    size_t n = 0, errors = 0;
    uint64_t bytes = 0, empty = 0, incomplete = 0;
    for (size_t i = 0; lat && i < nreq + warm; i++) {
        uint32_t want = 0;
        if (max_ns && osp_bench_now_ns(CLOCK_MONOTONIC) - began > max_ns)
            break; /* time budget spent: report what was measured */
        osp_buf_reset(&url);
        osp_buf_reset(&q);
        uint64_t r = xorshift(&seed);
        if (!search) {
            const uint8_t *id = idp + 20 * (r % nids);
            want = osp_get_le32(id + 16);
            if (db) {
                osp_ch_trace_query(db, id, &q);
            } else {
                char hex[33];
                osp_hex_encode(id, 16, hex);
                osp_buf_printf(&url, "%s/api/v1/traces/%.32s", base, hex);
            }
        } else {
            const osp_gen_search *s = &srch[r % nsearch];
            if (db) {
                osp_ch_search_query(db, s->service, s->operation, s->min_duration_ns, start_ns,
                                    end_ns, 20, &q);
            } else {
                char *op = curl_easy_escape(h, s->operation, 0);
                osp_buf_printf(&url,
                               "%s/api/v1/traces?service=%s&operation=%s&minDuration=%llums"
                               "&limit=20",
                               base, s->service, op,
                               (unsigned long long)(s->min_duration_ns / 1000000));
                if (start_ns)
                    osp_buf_printf(&url, "&start=%llu", (unsigned long long)start_ns);
                if (end_ns)
                    osp_buf_printf(&url, "&end=%llu", (unsigned long long)end_ns);
                curl_free(op);
            }
        }
        if (db) {
            osp_buf_putc(&q, 0);
            char *esc = curl_easy_escape(h, q.data, 0);
            osp_buf_printf(&url, "%s/?query=%s", base, esc);
            curl_free(esc);
        }
        osp_buf_putc(&url, 0);
        uint64_t ns;
        if (osp_bench_timed_get(h, url.data, &body, &ns) != 0) {
            if (errors++ < 3)
                fprintf(stderr, "loadgen latency: %s -> %.*s\n", url.data,
                        (int)(body.len < 300 ? body.len : 300), body.data ? body.data : "");
            continue;
        }
        if (i < warm)
            continue;
        /* an answer with no rows: an empty TSV body, or no "traceId" in JSON */
        if (body.len == 0 || (!db && search && !memmem(body.data, body.len, "traceId", 7)))
            empty++;
        if (!search && count_spans(&body, db != NULL) != want && incomplete++ < 3)
            fprintf(stderr, "loadgen latency: %s: %u spans, expected %u\n", url.data,
                    count_spans(&body, db != NULL), want);
        bytes += body.len;
        lat[n++] = ns;
    }
    report_latency(search ? (db ? "clickhouse_search" : "osprey_search")
                          : (db ? "clickhouse_trace" : "osprey_trace"),
                   lat, n, errors, bytes, empty, incomplete);
    osp_free(lat);
    curl_easy_cleanup(h);
    osp_buf_cleanup(&body);
    osp_buf_cleanup(&q);
    osp_buf_cleanup(&url);
    if (idp)
        munmap((void *)idp, idsize);
    return errors > nreq / 100 ? 1 : 0;
}

/* ---- selftest: the workload is valid OTLP that decodes back to the same rows ---- */

static int cmd_selftest(const osp_bench_opts *o)
{
    osp_gen_options gopt = {.seed = osp_bench_opt_u64(o, "--seed", 42),
                            .base_ns = 1795132800000000000ULL};
    osp_gen *g = NULL;
    osp_span_batch b, d;
    osp_buf pb, rb;
    osp_decode_report rep = {0};
    size_t bad = 0, spans = 0;
    int rc = osp_gen_create(&gopt, &g);
    osp_span_batch_init(&b);
    osp_span_batch_init(&d);
    osp_buf_init(&pb, MAX_REQUEST_BYTES);
    osp_buf_init(&rb, 0);
    for (int i = 0; rc == 0 && i < 8; i++) {
        osp_span_batch_reset(&b);
        osp_span_batch_reset(&d);
        osp_buf_reset(&pb);
        osp_buf_reset(&rb);
        rc = osp_gen_fill(g, &b, 512, NULL);
        if (rc == 0)
            rc = osp_gen_group(&b);
        if (rc == 0)
            rc = osp_otlp_traces_encode_pb(&b, &pb);
        if (rc == 0)
            rc = osp_ch_rowbinary(&b, &rb);
        if (rc == 0)
            rc = osp_otlp_traces_decode_pb(osp_buf_str(&pb), &d, &rep);
        if (rc == 0 && (rep.rejected || d.nspans != b.nspans)) {
            fprintf(stderr, "loadgen selftest: %lld spans rejected (%s), %zu of %zu decoded\n",
                    (long long)rep.rejected, rep.message, d.nspans, b.nspans);
            bad++;
        }
        for (size_t k = 0; rc == 0 && k < b.nspans && k < d.nspans; k++)
            bad += !osp_span_equal(&b, k, &d, k);
        spans += b.nspans;
    }
    if (rc)
        fprintf(stderr, "loadgen selftest: %s\n", osp_strerror(rc));
    else
        printf("selftest: %zu spans generated, encoded and decoded back; %zu differ\n", spans, bad);
    osp_gen_destroy(g);
    osp_span_batch_cleanup(&b);
    osp_span_batch_cleanup(&d);
    osp_buf_cleanup(&pb);
    osp_buf_cleanup(&rb);
    return rc || bad ? 1 : 0;
}

/* ---- ClickHouse schema ---- */

static int cmd_ch_setup(const osp_bench_opts *o)
{
    const char *url = osp_bench_opt_str(o, "--url", NULL), *db = osp_bench_opt_str(o, "--db", NULL);
    if (!url || !db) {
        usage();
        return 2;
    }
    CURL *h = curl_easy_init();
    osp_buf stmt, body;
    osp_buf_init(&stmt, 0);
    osp_buf_init(&body, 0);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, osp_bench_keep_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    int rc = 0;
    for (int i = 0; rc == 0 && osp_ch_schema_stmt(db, i, &stmt) == 1; i++) {
        osp_buf_reset(&body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, stmt.data);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)stmt.len);
        long code = 0;
        CURLcode res = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (res != CURLE_OK || code != 200) {
            fprintf(stderr, "loadgen ch-setup: %.*s\n  -> %s %.*s\n", (int)stmt.len, stmt.data,
                    curl_easy_strerror(res), (int)body.len, body.data ? body.data : "");
            rc = 1;
        }
    }
    osp_buf_cleanup(&stmt);
    osp_buf_cleanup(&body);
    curl_easy_cleanup(h);
    return rc;
}

static int cmd_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("loadgen free-port");
        return 1;
    }
    printf("%u\n", ntohs(a.sin_port));
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    osp_bench_opts o = {argc - 1, argv + 1};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    int rc;
    if (strcmp(argv[1], "gen") == 0)
        rc = cmd_gen(&o);
    else if (strcmp(argv[1], "load") == 0)
        rc = cmd_load(&o);
    else if (strcmp(argv[1], "trace-latency") == 0)
        rc = cmd_latency(&o, 0);
    else if (strcmp(argv[1], "search-latency") == 0)
        rc = cmd_latency(&o, 1);
    else if (strcmp(argv[1], "ch-setup") == 0)
        rc = cmd_ch_setup(&o);
    else if (strcmp(argv[1], "selftest") == 0)
        rc = cmd_selftest(&o);
    else if (strcmp(argv[1], "free-port") == 0)
        rc = cmd_free_port();
    else {
        usage();
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
