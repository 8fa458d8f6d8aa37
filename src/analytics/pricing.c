/* Model price table: the built-in config/prices.yaml with a user YAML file laid over it,
 * looked up by model name or glob, provider and effective date, reloaded when the file
 * changes. docs/pricing.md describes the format. */
#include "analytics/pricing.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rfc3339.h"

#define MAX_FILE_BYTES (4u << 20)
#define MAX_ENTRIES 10000
#define MAX_NAME_BYTES 256
#define MAX_PRICE 1e6 /* USD per million tokens; anything above is a typo */
#define ALWAYS INT64_MIN
#define EXACT SIZE_MAX /* entry.literal of an exact name */
#define REFRESH_EVERY_MS 1000
#define BUILTIN_NAME "config/prices.yaml (built-in)"

/* The shipped table, NUL-terminated, assembled from the file itself (the compiler runs from
 * the repository root). */
__asm__(".pushsection .rodata\n"
        ".balign 16\n"
        "osp__prices_yaml:\n"
        ".incbin \"config/prices.yaml\"\n"
        ".byte 0\n"
        ".popsection\n");
extern const char osp__prices_yaml[] __attribute__((visibility("hidden")));

typedef struct entry {
    const char *model;    /* exact name or glob with '*' */
    const char *provider; /* "" matches any */
    size_t literal;       /* EXACT, or the pattern's characters other than '*' */
    int64_t effective_ms; /* ALWAYS or the first millisecond it applies */
    osp_price price;
    int line; /* where it was written, for messages */
    int user; /* 1 from the user file, 0 built-in */
} entry;

/* One loaded table; never changed once built. */
typedef struct price_set {
    osp_arena arena; /* names */
    entry *e;
    size_t n, cap;
} price_set;

struct osp_price_table {
    pthread_rwlock_t lock; /* guards set */
    price_set *set;
    char *path;                    /* NULL: built-in only */
    pthread_mutex_t refresh_lock;  /* guards what follows */
    _Atomic int64_t next_check_ms; /* monotonic */
    struct timespec mtime;         /* of the file as last read or tried */
    off_t size;
    int missing; /* the last stat failed (logged once) */
};

typedef struct parser {
    const char *name; /* file name for messages */
    yaml_document_t *doc;
    price_set *set;
    int user;
    char *err;
    size_t errlen;
} parser;

static int msg(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes a message into err (when there is room) and returns rc. */
static int msg(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static int fail(parser *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "name:line: message" into the error buffer; returns OSP_EPARSE. */
static int fail(parser *p, const yaml_node_t *n, const char *fmt, ...)
{
    char text[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return msg(p->err, p->errlen, OSP_EPARSE, "%s:%d: %s", p->name, line_of(n), text);
}

static yaml_node_t *child(parser *p, int id)
{
    return yaml_document_get_node(p->doc, id);
}

static const char *text_of(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int is_scalar(parser *p, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SCALAR_NODE && strlen(text_of(n)) == n->data.scalar.length)
        return 0;
    return fail(p, n, "%s must be a single value", what);
}

static int is_empty(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*text_of(n) || !strcmp(text_of(n), "~") || !strcmp(text_of(n), "null"));
}

/* A model or provider name, copied into the set's arena. */
static int get_name(parser *p, const yaml_node_t *n, const char *what, const char **out)
{
    int rc = is_scalar(p, n, what);
    if (rc)
        return rc;
    if (n->data.scalar.length > MAX_NAME_BYTES)
        return fail(p, n, "%s longer than %d bytes", what, MAX_NAME_BYTES);
    osp_str s = osp_arena_strdup(&p->set->arena, osp_str_c(text_of(n)));
    if (!s.p)
        return msg(p->err, p->errlen, OSP_ENOMEM, "%s: out of memory", p->name);
    *out = s.p;
    return 0;
}

/* A price: a finite number in [0, MAX_PRICE]. */
static int get_price(parser *p, const yaml_node_t *n, const char *what, double *out)
{
    int rc = is_scalar(p, n, what);
    if (rc)
        return rc;
    const char *z = text_of(n);
    char *end;
    double v = strtod(z, &end);
    if (!*z || *end || !isfinite(v) || v < 0 || v > MAX_PRICE)
        return fail(p, n, "%s: \"%.40s\" is not a price in USD per million tokens (0 to %g)", what,
                    z, MAX_PRICE);
    *out = v;
    return 0;
}

/* A date (2024-07-18, midnight UTC) or an RFC 3339 date-time. */
static int get_date(parser *p, const yaml_node_t *n, int64_t *out)
{
    int rc = is_scalar(p, n, "effective");
    if (rc)
        return rc;
    char full[64];
    const char *z = text_of(n);
    uint64_t ns;
    int len = snprintf(full, sizeof full, strlen(z) == 10 ? "%sT00:00:00Z" : "%s", z);
    if (len < 0 || (size_t)len >= sizeof full || osp_rfc3339_parse(osp_str_c(full), &ns) != 0)
        return fail(p, n, "effective: \"%.40s\" is not a date (YYYY-MM-DD)", z);
    *out = (int64_t)(ns / 1000000);
    return 0;
}

static size_t literal_chars(const char *model)
{
    size_t stars = 0, n = strlen(model);
    for (size_t i = 0; i < n; i++)
        stars += model[i] == '*';
    return stars ? n - stars : EXACT;
}

/* Reads one key of an entry; *seen collects the keys met (bits), for duplicates. */
static int entry_key(parser *p, const yaml_node_t *k, const yaml_node_t *v, entry *e,
                     unsigned *seen)
{
    static const char *const keys[] = {"model",      "provider",    "input",    "output",
                                       "cache_read", "cache_write", "effective"};
    size_t i = 0;
    while (i < sizeof keys / sizeof *keys && strcmp(text_of(k), keys[i]))
        i++;
    if (i == sizeof keys / sizeof *keys)
        return fail(p, k,
                    "unknown key \"%.40s\" (model, provider, input, output, cache_read, "
                    "cache_write, effective)",
                    text_of(k));
    if (*seen & (1u << i))
        return fail(p, k, "duplicate key \"%s\"", keys[i]);
    *seen |= 1u << i;
    switch (i) {
    case 0:
        return get_name(p, v, "model", &e->model);
    case 1:
        return get_name(p, v, "provider", &e->provider);
    case 2:
        return get_price(p, v, "input", &e->price.input);
    case 3:
        return get_price(p, v, "output", &e->price.output);
    case 4:
        return get_price(p, v, "cache_read", &e->price.cache_read);
    case 5:
        return get_price(p, v, "cache_write", &e->price.cache_write);
    default:
        return get_date(p, v, &e->effective_ms);
    }
}

/* Parses one list item into a new entry of the set. */
static int parse_entry(parser *p, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(p, n, "a price entry must be a mapping (model: ..., input: ..., output: ...)");
    if (p->set->n >= MAX_ENTRIES)
        return fail(p, n, "more than %d price entries", MAX_ENTRIES);
    entry *e = osp_array_push((void **)&p->set->e, &p->set->n, &p->set->cap, sizeof *e);
    if (!e)
        return msg(p->err, p->errlen, OSP_ENOMEM, "%s: out of memory", p->name);
    *e = (entry){.provider = "", .effective_ms = ALWAYS, .line = line_of(n), .user = p->user};
    unsigned seen = 0;
    for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
        const yaml_node_t *k = child(p, kv->key);
        int rc = is_scalar(p, k, "a key");
        if (rc || (rc = entry_key(p, k, child(p, kv->value), e, &seen)) != 0)
            return rc;
    }
    const unsigned need = 1u << 0 | 1u << 2 | 1u << 3;
    if ((seen & need) != need)
        return fail(p, n, "a price entry needs model, input and output");
    if (!(seen & 1u << 4))
        e->price.cache_read = e->price.input;
    if (!(seen & 1u << 5))
        e->price.cache_write = e->price.input;
    e->literal = literal_chars(e->model);
    return 0;
}

/* The document: empty, or a mapping with one key "prices" holding a list (or nothing). */
static int parse_doc(parser *p)
{
    yaml_node_t *root = yaml_document_get_root_node(p->doc);
    if (!root || is_empty(root))
        return 0;
    if (root->type != YAML_MAPPING_NODE)
        return fail(p, root, "the file must be a mapping with the key \"prices\"");
    for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top;
         kv++) {
        yaml_node_t *k = child(p, kv->key), *v = child(p, kv->value);
        if (k->type != YAML_SCALAR_NODE || strcmp(text_of(k), "prices"))
            return fail(p, k, "unknown key (the only key is \"prices\")");
        if (is_empty(v))
            continue;
        if (v->type != YAML_SEQUENCE_NODE)
            return fail(p, v, "prices must be a list of entries");
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            int rc = parse_entry(p, child(p, *it));
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Parses text (len bytes) named name into set's entries. */
static int parse_text(const char *name, const char *text, size_t len, int user, price_set *set,
                      char *err, size_t errlen)
{
    yaml_parser_t yp;
    yaml_document_t doc;
    int rc;
    if (!yaml_parser_initialize(&yp))
        return msg(err, errlen, OSP_ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        rc = yp.error == YAML_MEMORY_ERROR
                 ? msg(err, errlen, OSP_ENOMEM, "%s: out of memory", name)
                 : msg(err, errlen, OSP_EPARSE, "%s:%d: %s", name, (int)yp.problem_mark.line + 1,
                       yp.problem ? yp.problem : "not valid YAML");
        goto out;
    }
    parser p = {name, &doc, set, user, err, errlen};
    rc = parse_doc(&p);
    yaml_document_delete(&doc);
out:
    yaml_parser_delete(&yp);
    return rc;
}

/* Reads the whole file at path into buf (capped). */
static int read_file(const char *path, osp_buf *buf, char *err, size_t errlen)
{
    int rc = osp_read_file(path, buf);
    if (rc == OSP_ENOTFOUND || rc == OSP_EIO)
        return msg(err, errlen, OSP_EIO, "%s: %s", path,
                   strerror(rc == OSP_ENOTFOUND ? ENOENT : errno));
    if (rc == OSP_ETOOBIG)
        return msg(err, errlen, OSP_EPARSE, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
    return rc ? msg(err, errlen, rc, "%s: out of memory", path) : 0;
}

static int key_cmp(const entry *a, const entry *b)
{
    int c = strcasecmp(a->model, b->model);
    if (c == 0)
        c = strcasecmp(a->provider, b->provider);
    if (c == 0)
        c = (a->effective_ms > b->effective_ms) - (a->effective_ms < b->effective_ms);
    return c;
}

/* By key, then built-in before user, then by line. */
static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int c = key_cmp(a, b);
    if (c == 0)
        c = a->user != b->user ? a->user - b->user : a->line - b->line;
    return c;
}

/* Sorts the entries and lets a user entry replace the built-in one of the same model,
 * provider and effective date; two of one file with the same key are an error. */
static int merge(price_set *set, const char *path, char *err, size_t errlen)
{
    size_t k = 0;
    qsort(set->e, set->n, sizeof *set->e, entry_cmp);
    for (size_t i = 0; i < set->n; i++) {
        entry *e = &set->e[i];
        if (k > 0 && key_cmp(&set->e[k - 1], e) == 0) {
            entry *prev = &set->e[k - 1];
            if (prev->user == e->user)
                return msg(err, errlen, OSP_EPARSE,
                           "%s:%d: a second price for model \"%.60s\"%s%.40s at the same "
                           "effective date (first at line %d)",
                           e->user ? path : BUILTIN_NAME, e->line, e->model,
                           *e->provider ? " of provider " : "", e->provider, prev->line);
            *prev = *e;
            continue;
        }
        set->e[k++] = *e;
    }
    set->n = k;
    return 0;
}

static void set_destroy(price_set *set)
{
    if (!set)
        return;
    osp_arena_cleanup(&set->arena);
    osp_free(set->e);
    osp_free(set);
}

/* The built-in table with the file at path (may be NULL) laid over it. */
static int set_load(const char *path, price_set **out, char *err, size_t errlen)
{
    osp_buf text;
    osp_buf_init(&text, MAX_FILE_BYTES);
    price_set *set = osp_calloc(1, sizeof *set);
    int rc = OSP_ENOMEM;
    if (!set) {
        msg(err, errlen, rc, "prices: out of memory");
        goto out;
    }
    osp_arena_init(&set->arena, 4096, 0);
    rc = parse_text(BUILTIN_NAME, osp__prices_yaml, strlen(osp__prices_yaml), 0, set, err, errlen);
    if (rc == 0 && path && (rc = read_file(path, &text, err, errlen)) == 0)
        rc = parse_text(path, text.data ? text.data : "", text.len, 1, set, err, errlen);
    if (rc == 0)
        rc = merge(set, path, err, errlen);
out:
    osp_buf_cleanup(&text);
    if (rc) {
        set_destroy(set);
        set = NULL;
    }
    *out = set;
    return rc;
}

/* Remembers the file's identity; 0, or -1 when it cannot be stat'ed. */
static int note_file(osp_price_table *t, int *changed)
{
    struct stat st;
    if (stat(t->path, &st) != 0)
        return -1;
    *changed = st.st_size != t->size || st.st_mtim.tv_sec != t->mtime.tv_sec ||
               st.st_mtim.tv_nsec != t->mtime.tv_nsec;
    t->size = st.st_size;
    t->mtime = st.st_mtim;
    return 0;
}

int osp_price_table_load(const char *path, osp_price_table **out, char *err, size_t errlen)
{
    osp_price_table *t = osp_calloc(1, sizeof *t);
    int rc = OSP_ENOMEM, changed;
    *out = NULL;
    if (!t || (path && !(t->path = osp_strdup(path)))) {
        osp_free(t);
        return msg(err, errlen, rc, "prices: out of memory");
    }
    pthread_rwlock_init(&t->lock, NULL);
    pthread_mutex_init(&t->refresh_lock, NULL);
    atomic_init(&t->next_check_ms, osp_clock_ms(CLOCK_MONOTONIC) + REFRESH_EVERY_MS);
    if (path)
        note_file(t, &changed);
    rc = set_load(path, &t->set, err, errlen);
    if (rc) {
        osp_price_table_destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}

void osp_price_table_destroy(osp_price_table *t)
{
    if (!t)
        return;
    set_destroy(t->set);
    pthread_rwlock_destroy(&t->lock);
    pthread_mutex_destroy(&t->refresh_lock);
    osp_free(t->path);
    osp_free(t);
}

/* Loads the changed file and swaps it in; logs and keeps the old table on a bad one. */
static void reload(osp_price_table *t)
{
    char err[512];
    price_set *set;
    if (set_load(t->path, &set, err, sizeof err) != 0) {
        osp_warn("pricing", "%s; keeping the previous price table", err);
        return;
    }
    pthread_rwlock_wrlock(&t->lock);
    price_set *old = t->set;
    t->set = set;
    pthread_rwlock_unlock(&t->lock);
    set_destroy(old);
    osp_info("pricing", "%s: loaded %zu prices", t->path, set->n);
}

void osp_price_table_refresh(osp_price_table *t)
{
    int64_t now = osp_clock_ms(CLOCK_MONOTONIC);
    if (!t || !t->path || now < atomic_load(&t->next_check_ms) ||
        pthread_mutex_trylock(&t->refresh_lock) != 0)
        return;
    atomic_store(&t->next_check_ms, now + REFRESH_EVERY_MS);
    int changed = 0;
    if (note_file(t, &changed) != 0) {
        if (!t->missing)
            osp_warn("pricing", "%s: %s; keeping the previous price table", t->path,
                     strerror(errno));
        t->missing = 1;
    } else if (changed || t->missing) {
        t->missing = 0;
        reload(t);
    }
    pthread_mutex_unlock(&t->refresh_lock);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive glob match of s against pattern z ('*' matches any run). */
static int glob_match(const char *z, osp_str s)
{
    const char *star = NULL;
    size_t i = 0, resume = 0;
    while (i < s.n || *z) {
        if (*z == '*') {
            star = ++z;
            resume = i;
        } else if (i < s.n && *z && lower((unsigned char)*z) == lower((unsigned char)s.p[i])) {
            z++;
            i++;
        } else if (star && resume < s.n) {
            z = star;
            i = ++resume;
        } else {
            return 0;
        }
    }
    return 1;
}

static int model_match(const entry *e, osp_str model)
{
    return e->literal == EXACT ? osp_str_ieq(osp_str_c(e->model), model)
                               : glob_match(e->model, model);
}

/* 1 when a ranks before b: an exact name, then the longer pattern, then provider-specific,
 * then the later effective date. */
static int ranks_before(const entry *a, const entry *b)
{
    if (a->literal != b->literal)
        return a->literal > b->literal;
    if ((*a->provider != 0) != (*b->provider != 0))
        return *a->provider != 0;
    return a->effective_ms > b->effective_ms;
}

static const entry *find(const price_set *set, osp_str provider, osp_str model, int64_t t_ms)
{
    const entry *best = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const entry *e = &set->e[i];
        if (e->effective_ms > t_ms || !model_match(e, model) ||
            (*e->provider && provider.n && !osp_str_ieq(osp_str_c(e->provider), provider)))
            continue;
        if (!best || ranks_before(e, best))
            best = e;
    }
    return best;
}

/* The name after the last '/' ("openai/gpt-4o", "models/gemini-2.0-flash"), or empty. */
static osp_str after_slash(osp_str model)
{
    for (size_t i = model.n; i > 0; i--)
        if (model.p[i - 1] == '/')
            return osp_str_make(model.p + i, model.n - i);
    return OSP_STR_NULL;
}

int osp_price_lookup(const osp_price_table *t, osp_str provider, osp_str model, int64_t t_ms,
                     osp_price *out)
{
    if (!t || model.n == 0)
        return 0;
    osp_price_table *mt = (osp_price_table *)t; /* the lock is not part of the value */
    osp_str base = after_slash(model);
    pthread_rwlock_rdlock(&mt->lock);
    const entry *e = find(t->set, provider, model, t_ms);
    if (!e && base.n)
        e = find(t->set, provider, base, t_ms);
    if (e)
        *out = e->price;
    pthread_rwlock_unlock(&mt->lock);
    return e != NULL;
}

double osp_price_cost(const osp_price *p, double input, double cache_read, double cache_write,
                      double output)
{
    return (input * p->input + cache_read * p->cache_read + cache_write * p->cache_write +
            output * p->output) /
           1e6;
}
