/* Log records as Loki sees them (model/logstream.h). */
#include "model/logstream.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "model/attr.h"
#include "model/loglevel.h"

/* Resource attributes that Loki's OTLP ingestion indexes as stream labels by default. */
static const char *const promoted[] = {
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "container.name",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
};

/* Labels Loki looks at, in order, for a service name when none is given. */
static const char *const service_labels[] = {
    "service",
    "app",
    "application",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
};

static int is_promoted(osp_str key)
{
    for (size_t i = 0; i < sizeof promoted / sizeof *promoted; i++)
        if (osp_str_eqz(key, promoted[i]))
            return 1;
    return 0;
}

/* A growing list of labels in an arena, with the order of arrival kept for ties; with
 * only set, just the first label of that name, held in one. */
typedef struct label_list {
    osp_arena *arena;
    osp_label *v;
    size_t n, cap;
    osp_log_meta_name *only;
    osp_label one;
} label_list;

/* 1 for the bytes a sanitized label name keeps: [a-zA-Z0-9_]. */
static int is_name_char(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* 1 when ls still takes a label of this name (as sanitize would write it when sanitized). */
static int wants(const label_list *ls, osp_str name, int sanitized)
{
    if (!ls->only)
        return 1;
    osp_str only = ls->only->name;
    if (ls->n || name.n != only.n)
        return 0;
    for (size_t i = 0; i < name.n; i++) {
        char c = name.p[i];
        if (sanitized && !is_name_char(c))
            c = '_';
        if (c != only.p[i])
            return 0;
    }
    return 1;
}

typedef struct ordered_label {
    osp_label l;
    size_t seq;
} ordered_label;

/* Adds a label ls takes (the caller checked that it wants the name) unless its name or
 * value is empty. */
static int push(label_list *ls, osp_str name, osp_str value)
{
    if (value.n == 0 || name.n == 0)
        return 0;
    if (ls->only) {
        ls->one = (osp_label){name, value};
        ls->v = &ls->one;
        ls->n = 1;
        return 0;
    }
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 16;
        osp_label *v = osp_arena_alloc(ls->arena, cap * sizeof *v);
        if (!v)
            return OSP_ENOMEM;
        if (ls->n)
            memcpy(v, ls->v, ls->n * sizeof *v);
        ls->v = v;
        ls->cap = cap;
    }
    ls->v[ls->n++] = (osp_label){name, value};
    return 0;
}

static osp_str arena_text(osp_arena *a, const osp_buf *b)
{
    osp_str s = osp_buf_str(b);
    return s.n ? osp_arena_strdup(a, s) : s;
}

/* name with every byte outside [a-zA-Z0-9_] turned into '_' (a copy only when needed). */
static int sanitize(osp_arena *a, osp_str name, osp_str *out)
{
    size_t i = 0;
    while (i < name.n && is_name_char(name.p[i]))
        i++;
    if (i == name.n) {
        *out = name;
        return 0;
    }
    char *p = osp_arena_memdup(a, name.p, name.n);
    if (!p)
        return OSP_ENOMEM;
    for (; i < name.n; i++)
        if (!is_name_char(p[i]))
            p[i] = '_';
    *out = osp_str_make(p, name.n);
    return 0;
}

/* The text of v: a string as it is, anything else rendered into the arena. */
static int value_text(osp_arena *a, const osp_value *v, osp_buf *scratch, osp_str *out)
{
    if (v->type == OSP_VAL_STRING) {
        *out = v->s;
        return 0;
    }
    osp_buf_reset(scratch);
    int rc = osp_value_to_text(v, scratch);
    if (rc)
        return rc;
    *out = arena_text(a, scratch);
    return scratch->len && !out->p ? OSP_ENOMEM : 0;
}

/* 1 when needle (not empty) occurs in s. Faster than memmem for the short names and
 * blobs of attributes. */
static int contains(osp_str s, osp_str needle)
{
    if (s.n < needle.n)
        return 0;
    const char *p = s.p, *end = s.p + (s.n - needle.n) + 1;
    while (p < end && (p = memchr(p, needle.p[0], (size_t)(end - p)))) {
        if (p[needle.n - 1] == needle.p[needle.n - 1] && memcmp(p, needle.p, needle.n) == 0)
            return 1;
        p++;
    }
    return 0;
}

/* 0 when no attribute in blob can give the one label ls takes: its needle must appear in
 * blob as it is. */
static int may_hold(const label_list *ls, osp_str blob)
{
    if (!ls->only)
        return 1;
    return ls->n == 0 && (ls->only->needle.n == 0 || contains(blob, ls->only->needle));
}

/* Adds the attributes of blob: all of them (want_promoted < 0), only the promoted ones
 * (1) or only the others (0); names sanitized unless keep_names. Values are decoded only
 * for the names ls takes. */
static int push_attrs(label_list *ls, osp_str blob, int want_promoted, int keep_names,
                      osp_buf *scratch)
{
    if (!may_hold(ls, blob))
        return 0;
    osp_attr_iter it;
    osp_attr_iter_init(&it, blob);
    osp_str key, raw;
    osp_value v;
    int rc;
    while ((rc = osp_attr_next_raw(&it, &key, &raw)) == 1) {
        if (!wants(ls, key, !keep_names) ||
            (want_promoted >= 0 && is_promoted(key) != want_promoted))
            continue;
        osp_str name = key, text;
        if (osp_value_decode(raw, &v) < 0)
            return OSP_ECORRUPT;
        if ((!keep_names && (rc = sanitize(ls->arena, key, &name))) ||
            (rc = value_text(ls->arena, &v, scratch, &text)) || (rc = push(ls, name, text)))
            return rc;
    }
    return rc;
}

static int cmp_ordered(const void *a, const void *b)
{
    const ordered_label *x = a, *y = b;
    int c = osp_str_cmp(x->l.name, y->l.name);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorts ls by name, keeping the first label of each name. */
static int finish(label_list *ls, osp_label **labels, size_t *n)
{
    *labels = NULL;
    *n = 0;
    if (ls->n == 0)
        return 0;
    ordered_label *o = osp_arena_alloc(ls->arena, ls->n * sizeof *o);
    if (!o)
        return OSP_ENOMEM;
    for (size_t i = 0; i < ls->n; i++)
        o[i] = (ordered_label){ls->v[i], i};
    if (ls->n > 32) {
        qsort(o, ls->n, sizeof *o, cmp_ordered);
    } else { /* the few labels of a record: insertion sort is several times quicker */
        for (size_t i = 1; i < ls->n; i++) {
            ordered_label x = o[i];
            size_t j = i;
            for (; j > 0 && cmp_ordered(&o[j - 1], &x) > 0; j--)
                o[j] = o[j - 1];
            o[j] = x;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < ls->n; i++)
        if (k == 0 || !osp_str_eq(ls->v[k - 1].name, o[i].l.name))
            ls->v[k++] = o[i].l;
    *labels = ls->v;
    *n = k;
    return 0;
}

static osp_str find_label(const label_list *ls, const char *name)
{
    for (size_t i = 0; i < ls->n; i++)
        if (osp_str_eqz(ls->v[i].name, name))
            return ls->v[i].value;
    return osp_str_make(NULL, 0);
}

int osp_log_stream_labels(const osp_resource *r, int labels_from, osp_arena *arena,
                          osp_label **labels, size_t *n)
{
    label_list ls = {.arena = arena};
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    int all = labels_from == OSP_LOG_LABELS_ALL;
    int rc = push_attrs(&ls, r->attributes, all ? -1 : 1, all, &scratch);
    osp_buf_cleanup(&scratch);
    if (rc)
        return rc;
    if (!find_label(&ls, "service_name").n) {
        osp_str service = r->service_name;
        for (size_t i = 0; all && !service.n && i < sizeof service_labels / sizeof *service_labels;
             i++)
            service = find_label(&ls, service_labels[i]);
        if (!service.n)
            service = osp_str_c(OSP_LOG_UNKNOWN_SERVICE);
        if ((rc = push(&ls, OSP_STR_LIT("service_name"), service)))
            return rc;
    }
    return finish(&ls, labels, n);
}

size_t osp_log_service_labels(const char *const **names)
{
    *names = service_labels;
    return sizeof service_labels / sizeof *service_labels;
}

static int push_hex(label_list *ls, osp_str name, const uint8_t *id, size_t len)
{
    static const uint8_t zero[16];
    if (memcmp(id, zero, len) == 0)
        return 0;
    char *hex = osp_arena_alloc(ls->arena, len * 2);
    if (!hex)
        return OSP_ENOMEM;
    osp_hex_encode(id, len, hex);
    return push(ls, name, osp_str_make(hex, len * 2));
}

static int push_u64(label_list *ls, osp_str name, uint64_t v)
{
    if (v == 0)
        return 0;
    char tmp[20];
    size_t at = sizeof tmp;
    do
        tmp[--at] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    osp_str s = osp_arena_strdup(ls->arena, osp_str_make(tmp + at, sizeof tmp - at));
    return s.p ? push(ls, name, s) : OSP_ENOMEM;
}

/* What a walk over a record's attribute blobs found for its detected_level: the first
 * detected_level among its metadata, and the best ranked level field among its stream
 * labels and among its metadata (osp_level_field_rank). With no arena, values are only
 * found, not rendered (their text is then unknown). */
typedef struct level_fields {
    osp_arena *arena;
    osp_buf *scratch;
    int found_detected;
    osp_str detected;
    int label_rank, meta_rank;
    osp_str label, meta;
} level_fields;

/* The text of raw into *text: 0, or 1 when it is empty (a label Loki would not have), or an
 * error. Without an arena, any non-string value counts as text. */
static int level_text(level_fields *lf, osp_str raw, osp_str *text)
{
    osp_value v;
    if (osp_value_decode(raw, &v) < 0)
        return OSP_ECORRUPT;
    if (!lf->arena && v.type != OSP_VAL_STRING) {
        *text = OSP_STR_LIT("?");
        return 0;
    }
    int rc = value_text(lf->arena, &v, lf->scratch, text);
    return rc ? rc : text->n == 0;
}

/* Looks through the attributes of blob that are stream labels (as_label) or metadata, the
 * promoted ones only or the others (want_promoted, or -1 for all), names sanitized unless
 * keep_names. */
static int level_attrs(level_fields *lf, osp_str blob, int as_label, int want_promoted,
                       int keep_names)
{
    int may_detect = !as_label && !lf->found_detected && contains(blob, OSP_STR_LIT("detected"));
    if (!may_detect && !osp_level_field_may_occur(blob))
        return 0;
    osp_attr_iter it;
    osp_attr_iter_init(&it, blob);
    osp_str key, raw, text;
    int rc, *best = as_label ? &lf->label_rank : &lf->meta_rank;
    while ((rc = osp_attr_next_raw(&it, &key, &raw)) == 1) {
        if (key.n > 14 || (want_promoted >= 0 && is_promoted(key) != want_promoted))
            continue;
        char name[14];
        for (size_t i = 0; i < key.n; i++)
            name[i] = keep_names || is_name_char(key.p[i]) ? key.p[i] : '_';
        osp_str n = osp_str_make(name, key.n);
        int rank = osp_level_field_rank(n);
        int detected = may_detect && !lf->found_detected && osp_str_eqz(n, "detected_level");
        if ((rank < 0 || rank >= *best) && !detected)
            continue;
        if ((rc = level_text(lf, raw, &text)) < 0)
            return rc;
        if (rc == 1)
            continue;
        if (detected) {
            lf->found_detected = 1;
            lf->detected = text;
        } else {
            *best = rank;
            *(as_label ? &lf->label : &lf->meta) = text;
        }
    }
    return rc;
}

/* A level word as Loki keeps it: its level's name when it names one (*named), else as it
 * is (*named UNSET). */
static osp_str normalized(osp_str word, osp_line_level *named)
{
    *named = osp_level_of_word(word);
    const char *name = osp_line_level_name(*named);
    return name ? osp_str_c(name) : word;
}

/* The level record r of b takes from its fields (Loki's rules before the line) in *level,
 * normalized, and in *named when it is one of Loki's names (else UNSET); *level is left
 * empty when none gives one. */
static int field_level(const osp_log_batch *b, const osp_log_record *r, level_fields *lf,
                       osp_str *level, osp_line_level *named)
{
    int all = r->labels_from == OSP_LOG_LABELS_ALL, rc = 0;
    osp_str res = r->resource < b->nresources ? b->resources[r->resource].attributes : OSP_STR_NULL;
    lf->label_rank = lf->meta_rank = INT32_MAX;
    if ((rc = level_attrs(lf, r->attributes, 0, -1, all)) ||
        (all && (rc = level_attrs(lf, res, 1, -1, 1))) ||
        (!all && (rc = level_attrs(lf, res, 0, 0, 0))))
        return rc;
    if (r->severity_text.n && OSP_LEVEL_FIELD_SEVERITY_TEXT < lf->meta_rank) {
        lf->meta_rank = OSP_LEVEL_FIELD_SEVERITY_TEXT;
        lf->meta = r->severity_text;
    }
    *level = OSP_STR_NULL;
    *named = OSP_LINE_LEVEL_UNSET;
    if (lf->found_detected)
        *level = normalized(lf->detected, named);
    else if (lf->label_rank != INT32_MAX)
        *level = normalized(lf->label, named);
    else if (lf->meta_rank != INT32_MAX)
        *level = normalized(lf->meta, named);
    else if (r->severity_number != 0) {
        *named = osp_level_of_severity(r->severity_number);
        *level = osp_str_c(osp_line_level_name(*named));
    }
    return 0;
}

/* The level of r's line (osp_line_level_of); UNKNOWN when its body does not render. */
static osp_line_level line_level(const osp_log_record *r, osp_buf *scratch)
{
    osp_str line;
    return osp_log_line(r, scratch, &line) == 0 ? osp_line_level_of(line) : OSP_LINE_LEVEL_UNKNOWN;
}

/* r's kept level when it has one. */
static int kept_level(const osp_log_record *r)
{
    return r->level != OSP_LINE_LEVEL_UNSET && r->level < OSP_LINE_LEVEL_COUNT;
}

int osp_log_detected_level(const osp_log_batch *b, size_t i, osp_arena *arena, osp_str *level)
{
    const osp_log_record *r = &b->records[i];
    if (kept_level(r)) {
        *level = osp_str_c(osp_line_level_name(r->level));
        return 0;
    }
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    level_fields lf = {.arena = arena, .scratch = &scratch};
    osp_line_level named;
    int rc = field_level(b, r, &lf, level, &named);
    if (!rc && !level->n)
        *level = osp_str_c(osp_line_level_name(line_level(r, &scratch)));
    osp_buf_cleanup(&scratch);
    return rc;
}

osp_line_level osp_log_level_to_keep(const osp_log_batch *b, const osp_log_record *r,
                                     osp_buf *scratch)
{
    if (kept_level(r))
        return (osp_line_level)r->level;
    level_fields lf = {0}; /* no arena: only string values are read, others count as "?" */
    osp_line_level named;
    osp_str level;
    if (field_level(b, r, &lf, &level, &named))
        return OSP_LINE_LEVEL_UNSET;
    return level.n ? named : line_level(r, scratch);
}

/* 1 when ls takes one label and has it: the first of a name wins, so the walk can stop. */
static int found(const label_list *ls)
{
    return ls->only && ls->n;
}

/* Adds the resource attributes in blob that are not stream labels. A lookup of one name
 * skips a blob the same as the last that gave none. */
static int push_resource_attrs(label_list *ls, osp_str blob, osp_buf *scratch)
{
    osp_log_meta_name *m = ls->only;
    if (m && blob.n && m->lacking.len == blob.n && memcmp(m->lacking.data, blob.p, blob.n) == 0)
        return 0;
    int rc = push_attrs(ls, blob, 0, 0, scratch);
    if (rc || !m || ls->n || !blob.n)
        return rc;
    osp_buf_reset(&m->lacking);
    if (osp_buf_append_str(&m->lacking, blob))
        osp_buf_reset(&m->lacking); /* nothing remembered */
    return 0;
}

/* The metadata a record's own fields give (osp_log_meta_name.field; 0 is none), in the
 * order they are listed after its attributes, detected_level aside. */
enum {
    FIELD_DETECTED_LEVEL = 1,
    FIELD_SCOPE_NAME,
    FIELD_SCOPE_VERSION,
    FIELD_TRACE_ID,
    FIELD_SPAN_ID,
    FIELD_SEVERITY_TEXT,
    FIELD_SEVERITY_NUMBER,
    FIELD_FLAGS,
    FIELD_EVENT_NAME,
    FIELD_OBSERVED_TIMESTAMP,
    FIELD_COUNT
};

static const osp_str field_names[FIELD_COUNT] = {
    [FIELD_DETECTED_LEVEL] = OSP_STR_LIT("detected_level"),
    [FIELD_SCOPE_NAME] = OSP_STR_LIT("scope_name"),
    [FIELD_SCOPE_VERSION] = OSP_STR_LIT("scope_version"),
    [FIELD_TRACE_ID] = OSP_STR_LIT("trace_id"),
    [FIELD_SPAN_ID] = OSP_STR_LIT("span_id"),
    [FIELD_SEVERITY_TEXT] = OSP_STR_LIT("severity_text"),
    [FIELD_SEVERITY_NUMBER] = OSP_STR_LIT("severity_number"),
    [FIELD_FLAGS] = OSP_STR_LIT("flags"),
    [FIELD_EVENT_NAME] = OSP_STR_LIT("event_name"),
    [FIELD_OBSERVED_TIMESTAMP] = OSP_STR_LIT("observed_timestamp"),
};

/* Adds field f of record i of b when it has one (the scope's only for records whose
 * resource attributes are not all stream labels); ls takes it. */
static int push_field(label_list *ls, const osp_log_batch *b, size_t i, int f)
{
    const osp_log_record *rec = &b->records[i];
    osp_str name = field_names[f], level;
    int has_scope = rec->labels_from != OSP_LOG_LABELS_ALL && rec->scope < b->nscopes;
    int rc;
    switch (f) {
    case FIELD_DETECTED_LEVEL:
        rc = osp_log_detected_level(b, i, ls->arena, &level);
        return rc ? rc : push(ls, name, level);
    case FIELD_SCOPE_NAME:
        return has_scope ? push(ls, name, b->scopes[rec->scope].name) : 0;
    case FIELD_SCOPE_VERSION:
        return has_scope ? push(ls, name, b->scopes[rec->scope].version) : 0;
    case FIELD_TRACE_ID:
        return push_hex(ls, name, rec->trace_id, 16);
    case FIELD_SPAN_ID:
        return push_hex(ls, name, rec->span_id, 8);
    case FIELD_SEVERITY_TEXT:
        return push(ls, name, rec->severity_text);
    case FIELD_SEVERITY_NUMBER:
        return push_u64(ls, name, rec->severity_number > 0 ? (uint64_t)rec->severity_number : 0);
    case FIELD_FLAGS:
        return push_u64(ls, name, rec->flags);
    case FIELD_EVENT_NAME:
        return push(ls, name, rec->event_name);
    default:
        return push_u64(ls, name, rec->observed_ns);
    }
}

/* The metadata of record i of b into ls. */
static int metadata(const osp_log_batch *b, size_t i, label_list *ls)
{
    const osp_log_record *rec = &b->records[i];
    int all = rec->labels_from == OSP_LOG_LABELS_ALL;
    int rc = 0;
    /* first, so that it wins over a detected_level the record carries */
    if ((!ls->only || ls->only->field == FIELD_DETECTED_LEVEL) &&
        (rc = push_field(ls, b, i, FIELD_DETECTED_LEVEL)))
        return rc;
    if (found(ls))
        return 0;
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    rc = push_attrs(ls, rec->attributes, -1, all, &scratch);
    if (!rc && !all && !found(ls) && rec->resource < b->nresources)
        rc = push_resource_attrs(ls, b->resources[rec->resource].attributes, &scratch);
    osp_buf_cleanup(&scratch);
    if (rc || found(ls))
        return rc;
    if (ls->only)
        return ls->only->field > FIELD_DETECTED_LEVEL ? push_field(ls, b, i, ls->only->field) : 0;
    for (int f = FIELD_SCOPE_NAME; rc == 0 && f < FIELD_COUNT; f++)
        rc = push_field(ls, b, i, f);
    return rc;
}

int osp_log_metadata(const osp_log_batch *b, size_t i, osp_arena *arena, osp_label **labels,
                     size_t *n)
{
    label_list ls = {.arena = arena};
    int rc = metadata(b, i, &ls);
    return rc ? rc : finish(&ls, labels, n);
}

void osp_log_meta_name_init(osp_log_meta_name *m, osp_str name)
{
    *m = (osp_log_meta_name){.name = name.p ? name : OSP_STR_LIT("")};
    osp_buf_init(&m->lacking, 0);
    for (size_t i = 0, start = 0; i <= name.n; i++)
        if (i == name.n || name.p[i] == '_') {
            if (i - start > m->needle.n)
                m->needle = osp_str_make(name.p + start, i - start);
            start = i + 1;
        }
    for (int f = FIELD_DETECTED_LEVEL; f < FIELD_COUNT; f++)
        if (osp_str_eq(m->name, field_names[f]))
            m->field = f;
}

void osp_log_meta_name_cleanup(osp_log_meta_name *m)
{
    osp_buf_cleanup(&m->lacking);
}

int osp_log_meta_name_value(osp_log_meta_name *m, const osp_log_batch *b, size_t i,
                            osp_arena *arena, osp_str *value)
{
    label_list ls = {.arena = arena, .only = m};
    int rc = metadata(b, i, &ls);
    *value = ls.n ? ls.v[0].value : OSP_STR_LIT("");
    return rc;
}

int osp_log_metadata_value(const osp_log_batch *b, size_t i, osp_arena *arena, osp_str name,
                           osp_str *value)
{
    osp_log_meta_name m;
    osp_log_meta_name_init(&m, name);
    int rc = osp_log_meta_name_value(&m, b, i, arena, value);
    osp_log_meta_name_cleanup(&m);
    return rc;
}

int osp_log_line(const osp_log_record *r, osp_buf *scratch, osp_str *line)
{
    *line = osp_str_make("", 0);
    if (!r->has_body || r->body.n == 0)
        return 0;
    osp_value v;
    int rc = osp_value_decode(r->body, &v);
    if (rc)
        return rc;
    if (v.type == OSP_VAL_STRING) {
        *line = v.s;
        return 0;
    }
    osp_buf_reset(scratch);
    if ((rc = osp_value_to_text(&v, scratch)))
        return rc;
    *line = osp_buf_str(scratch);
    return 0;
}
