/* Owned attribute sets: copying typed key/values in (limits, replacement, drop counts)
 * and writing them out as OTLP protobuf KeyValues or JSON object members; plus the bump
 * pool spans use to keep those copies inside their own block. */
#include "trace_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/pb.h"

/* AnyValue (common.proto) field numbers. */
enum { ANY_STRING = 1, ANY_BOOL = 2, ANY_INT = 3, ANY_DOUBLE = 4, ANY_ARRAY = 5 };
/* KeyValue and ArrayValue field numbers. */
enum { KV_KEY = 1, KV_VALUE = 2, ARRAY_VALUES = 1 };

/* ---- Pool ------------------------------------------------------------------------------- */

static bool pool_owns(const osprey__pool *pool, const void *p)
{
    const char *c = p;
    return pool && c >= pool->base && c < pool->base + pool->cap;
}

void *osprey__pool_alloc(osprey__pool *pool, size_t n)
{
    size_t need = (n + 7) & ~(size_t)7;
    if (pool && need >= n && need <= (size_t)(pool->cap - pool->used)) {
        void *p = pool->base + pool->used;
        pool->used += (uint32_t)need;
        return p;
    }
    return osp_malloc(n ? n : 1);
}

void osprey__pool_free(osprey__pool *pool, void *p)
{
    if (!pool_owns(pool, p))
        osp_free(p);
}

char *osprey__pool_strndup(osprey__pool *pool, const char *s, size_t n)
{
    char *d = n < SIZE_MAX ? osprey__pool_alloc(pool, n + 1) : NULL;
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- Copying in --------------------------------------------------------------------------- */

static size_t elem_size(osprey_value_type t)
{
    switch (t) {
    case OSPREY_VALUE_STRING_ARRAY:
        return sizeof(char *);
    case OSPREY_VALUE_BOOL_ARRAY:
        return sizeof(bool);
    case OSPREY_VALUE_INT_ARRAY:
        return sizeof(int64_t);
    case OSPREY_VALUE_DOUBLE_ARRAY:
        return sizeof(double);
    default:
        return 0;
    }
}

static char *copy_str(osprey__pool *pool, const char *s)
{
    return s ? osprey__pool_strndup(pool, s, strlen(s)) : osprey__pool_strndup(pool, "", 0);
}

static void free_value(osprey__kv *kv, osprey__pool *pool)
{
    if (kv->type == OSPREY_VALUE_STRING) {
        osprey__pool_free(pool, kv->v.s);
    } else if (elem_size(kv->type)) {
        if (kv->type == OSPREY_VALUE_STRING_ARRAY) {
            char **items = kv->v.array.items;
            for (size_t i = 0; i < kv->v.array.n; i++)
                osprey__pool_free(pool, items[i]);
        }
        osprey__pool_free(pool, kv->v.array.items);
    }
}

/* Copies src's value into dst (type and value; not the key). 0, OSPREY_EINVAL (unknown
 * type) or OSPREY_ENOMEM (nothing left allocated). */
static int copy_value(osprey__kv *dst, const osprey_attr *src, osprey__pool *pool)
{
    size_t esize = elem_size(src->type);
    dst->type = src->type;
    switch (src->type) {
    case OSPREY_VALUE_STRING:
        dst->v.s = copy_str(pool, src->v.s);
        return dst->v.s ? 0 : OSPREY_ENOMEM;
    case OSPREY_VALUE_BOOL:
        dst->v.b = src->v.b;
        return 0;
    case OSPREY_VALUE_INT:
        dst->v.i = src->v.i;
        return 0;
    case OSPREY_VALUE_DOUBLE:
        dst->v.d = src->v.d;
        return 0;
    default:
        break;
    }
    if (!esize)
        return OSPREY_EINVAL;
    size_t n = src->v.array.items ? src->v.array.n : 0;
    dst->v.array.n = 0;
    dst->v.array.items = NULL;
    if (n > SIZE_MAX / esize)
        return OSPREY_ENOMEM;
    if (n && !(dst->v.array.items = osprey__pool_alloc(pool, n * esize)))
        return OSPREY_ENOMEM;
    if (src->type != OSPREY_VALUE_STRING_ARRAY) {
        if (n)
            memcpy(dst->v.array.items, src->v.array.items, n * esize);
        dst->v.array.n = n;
        return 0;
    }
    const char *const *in = src->v.array.items;
    char **out = dst->v.array.items;
    for (; dst->v.array.n < n; dst->v.array.n++) {
        if (!(out[dst->v.array.n] = copy_str(pool, in[dst->v.array.n]))) {
            free_value(dst, pool);
            return OSPREY_ENOMEM;
        }
    }
    return 0;
}

/* Makes room for `more` items: capacity at least n + more, and at least doubled. */
static int reserve(osprey__attrs *a, size_t more, osprey__pool *pool)
{
    if (a->n + more <= a->cap)
        return 0;
    size_t cap = a->n + more;
    if (cap < 2 * (size_t)a->cap)
        cap = 2 * (size_t)a->cap;
    if (cap < 4)
        cap = 4;
    if (cap > UINT32_MAX)
        return OSPREY_ENOMEM;
    osprey__kv *items = osprey__pool_alloc(pool, cap * sizeof *items);
    if (!items)
        return OSPREY_ENOMEM;
    if (a->n)
        memcpy(items, a->items, a->n * sizeof *items);
    osprey__pool_free(pool, a->items);
    a->items = items;
    a->cap = (uint32_t)cap;
    return 0;
}

static osprey__kv *find_mut(const osprey__attrs *a, const char *key)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i].key, key) == 0)
            return &a->items[i];
    return NULL;
}

/* Sets one attribute: replaces an existing key's value, appends a new key within limit. */
static int set_one(osprey__attrs *a, const osprey_attr *src, size_t limit, osprey__pool *pool)
{
    osprey__kv *kv = src->key ? find_mut(a, src->key) : NULL;
    osprey__kv fresh = {0};
    if (!src->key || (!kv && limit && a->n >= limit)) {
        a->dropped++;
        return 0;
    }
    int rc = copy_value(&fresh, src, pool);
    if (rc == OSPREY_EINVAL) {
        a->dropped++;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (kv) {
        free_value(kv, pool);
        fresh.key = kv->key;
        *kv = fresh;
        return 0;
    }
    if (!(fresh.key = copy_str(pool, src->key)) || reserve(a, 1, pool) < 0) {
        osprey__pool_free(pool, fresh.key);
        free_value(&fresh, pool);
        return OSPREY_ENOMEM;
    }
    a->items[a->n++] = fresh;
    return 0;
}

int osprey__attrs_set_pool(osprey__attrs *a, const osprey_attr *src, size_t n, size_t limit,
                           osprey__pool *pool)
{
    size_t room = limit && limit > a->n ? limit - a->n : 0;
    if (n > 1 && reserve(a, limit ? (n < room ? n : room) : n, pool) < 0) {
        a->dropped += (uint32_t)n;
        return OSPREY_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (set_one(a, &src[i], limit, pool) < 0) {
            a->dropped += (uint32_t)(n - i); /* this one and the rest are lost, counted */
            return OSPREY_ENOMEM;
        }
    }
    return 0;
}

int osprey__attrs_set(osprey__attrs *a, const osprey_attr *src, size_t n, size_t limit)
{
    return osprey__attrs_set_pool(a, src, n, limit, NULL);
}

void osprey__attrs_cleanup_pool(osprey__attrs *a, osprey__pool *pool)
{
    for (uint32_t i = 0; i < a->n; i++) {
        osprey__pool_free(pool, a->items[i].key);
        free_value(&a->items[i], pool);
    }
    osprey__pool_free(pool, a->items);
    *a = (osprey__attrs){0};
}

void osprey__attrs_cleanup(osprey__attrs *a)
{
    osprey__attrs_cleanup_pool(a, NULL);
}

const osprey__kv *osprey__attrs_find(const osprey__attrs *a, const char *key)
{
    return key ? find_mut(a, key) : NULL;
}

/* ---- Protobuf ------------------------------------------------------------------------------- */

/* Writes element i of kv's array as one AnyValue field of the current message. */
static int put_pb_elem(osp_buf *b, const osprey__kv *kv, size_t i)
{
    switch (kv->type) {
    case OSPREY_VALUE_STRING_ARRAY:
        return osp_pb_put_str(b, ANY_STRING, osp_str_c(((char **)kv->v.array.items)[i]));
    case OSPREY_VALUE_BOOL_ARRAY:
        return osp_pb_put_uint(b, ANY_BOOL, ((bool *)kv->v.array.items)[i]);
    case OSPREY_VALUE_INT_ARRAY:
        return osp_pb_put_uint(b, ANY_INT, (uint64_t)((int64_t *)kv->v.array.items)[i]);
    default:
        return osp_pb_put_double(b, ANY_DOUBLE, ((double *)kv->v.array.items)[i]);
    }
}

/* Writes kv's value as the fields of an AnyValue message. */
static int put_pb_value(osp_buf *b, const osprey__kv *kv)
{
    switch (kv->type) {
    case OSPREY_VALUE_STRING:
        return osp_pb_put_str(b, ANY_STRING, osp_str_c(kv->v.s));
    case OSPREY_VALUE_BOOL:
        return osp_pb_put_uint(b, ANY_BOOL, kv->v.b);
    case OSPREY_VALUE_INT:
        return osp_pb_put_uint(b, ANY_INT, (uint64_t)kv->v.i);
    case OSPREY_VALUE_DOUBLE:
        return osp_pb_put_double(b, ANY_DOUBLE, kv->v.d);
    default:
        break;
    }
    size_t array;
    int rc = osp_pb_begin(b, ANY_ARRAY, &array);
    for (size_t i = 0; rc == 0 && i < kv->v.array.n; i++) {
        size_t elem;
        if ((rc = osp_pb_begin(b, ARRAY_VALUES, &elem)) == 0 && (rc = put_pb_elem(b, kv, i)) == 0)
            rc = osp_pb_end(b, elem);
    }
    return rc ? rc : osp_pb_end(b, array);
}

int osprey__attrs_put_pb(osp_buf *b, uint32_t num, const osprey__attrs *a)
{
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < a->n; i++) {
        size_t kv, value;
        if ((rc = osp_pb_begin(b, num, &kv)) != 0 ||
            (rc = osp_pb_put_str(b, KV_KEY, osp_str_c(a->items[i].key))) != 0 ||
            (rc = osp_pb_begin(b, KV_VALUE, &value)) != 0 ||
            (rc = put_pb_value(b, &a->items[i])) != 0 || (rc = osp_pb_end(b, value)) != 0)
            break;
        rc = osp_pb_end(b, kv);
    }
    return rc ? OSPREY_ENOMEM : 0;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

/* A double as JSON: the shortest of %.15g/%.17g that reads back exactly; non-finite values
 * as the strings "NaN", "Infinity", "-Infinity". */
static int put_json_double(osp_buf *b, double d)
{
    if (isnan(d))
        return osp_buf_puts(b, "\"NaN\"");
    if (isinf(d))
        return osp_buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof tmp, "%.17g", d);
    return osp_buf_puts(b, tmp);
}

static int put_json_str(osp_buf *b, const char *s)
{
    return osp_buf_json_str(b, s, strlen(s));
}

static int put_json_elem(osp_buf *b, const osprey__kv *kv, size_t i)
{
    switch (kv->type) {
    case OSPREY_VALUE_STRING_ARRAY:
        return put_json_str(b, ((char **)kv->v.array.items)[i]);
    case OSPREY_VALUE_BOOL_ARRAY:
        return osp_buf_puts(b, ((bool *)kv->v.array.items)[i] ? "true" : "false");
    case OSPREY_VALUE_INT_ARRAY:
        return osp_buf_printf(b, "%" PRId64, ((int64_t *)kv->v.array.items)[i]);
    default:
        return put_json_double(b, ((double *)kv->v.array.items)[i]);
    }
}

static int put_json_value(osp_buf *b, const osprey__kv *kv)
{
    switch (kv->type) {
    case OSPREY_VALUE_STRING:
        return put_json_str(b, kv->v.s);
    case OSPREY_VALUE_BOOL:
        return osp_buf_puts(b, kv->v.b ? "true" : "false");
    case OSPREY_VALUE_INT:
        return osp_buf_printf(b, "%" PRId64, kv->v.i);
    case OSPREY_VALUE_DOUBLE:
        return put_json_double(b, kv->v.d);
    default:
        break;
    }
    int rc = osp_buf_putc(b, '[');
    for (size_t i = 0; rc == 0 && i < kv->v.array.n; i++) {
        if (i)
            rc = osp_buf_putc(b, ',');
        if (rc == 0)
            rc = put_json_elem(b, kv, i);
    }
    return rc ? rc : osp_buf_putc(b, ']');
}

int osprey__attrs_put_json(osp_buf *b, const osprey__attrs *a)
{
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < a->n; i++) {
        if (i)
            rc = osp_buf_putc(b, ',');
        if (rc == 0 && (rc = put_json_str(b, a->items[i].key)) == 0 &&
            (rc = osp_buf_putc(b, ':')) == 0)
            rc = put_json_value(b, &a->items[i]);
    }
    return rc ? OSPREY_ENOMEM : 0;
}
