/* Prometheus relabeling: rule validation, RE2 regex compilation and the relabel actions. */
#include "scrape/relabel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/md5.h>

#include "core/err.h"
#include "core/re2.h"

static const char *const action_names[] = {
#define OSP_RELABEL_NAME(name, z) z,
    OSP_RELABEL_ACTION_MAP(OSP_RELABEL_NAME)
#undef OSP_RELABEL_NAME
};

#define NACTIONS (sizeof action_names / sizeof action_names[0])

int osp_relabel_action_parse(const char *z, osp_relabel_action *out)
{
    for (size_t i = 0; i < NACTIONS; i++) {
        if (strcmp(z, action_names[i]) == 0) {
            *out = (osp_relabel_action)i;
            return 0;
        }
    }
    return OSP_EINVAL;
}

const char *osp_relabel_action_name(osp_relabel_action a)
{
    return (size_t)a < NACTIONS ? action_names[a] : "unknown";
}

void osp_relabel_rule_defaults(osp_relabel_rule *r)
{
    memset(r, 0, sizeof *r);
    r->action = OSP_RELABEL_REPLACE;
    r->separator = ";";
    r->target_label = "";
    r->regex = "(.*)";
    r->replacement = "$1";
}

int osp_label_name_valid(osp_str s)
{
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Prometheus's relabelTarget: ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$ — label-name
 * characters and $var / ${var} references, not starting with a digit. */
static int template_name_valid(const char *z)
{
    if (!*z)
        return 0;
    if (*z >= '0' && *z <= '9')
        return 0;
    while (*z) {
        if (*z == '$') {
            z++;
            if (*z == '{') {
                const char *s = ++z;
                while (name_char(*z))
                    z++;
                if (z == s || *z != '}')
                    return 0;
                z++;
            } else {
                const char *s = z;
                while (name_char(*z))
                    z++;
                if (z == s)
                    return 0;
            }
        } else if (name_char(*z)) {
            z++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Prometheus's varInRegexTemplate: the template contains a "$". */
static int has_var(const char *z)
{
    return strchr(z, '$') != NULL;
}

int osp_relabel_rule_compile(osp_relabel_rule *r, char *err, size_t errlen)
{
    const char *act = osp_relabel_action_name(r->action);
    osp_relabel_action a = r->action;
    int is_default_regex = strcmp(r->regex, "(.*)") == 0;
    int is_default_sep = strcmp(r->separator, ";") == 0;
    int is_default_repl = strcmp(r->replacement, "$1") == 0;
    int has_target = r->target_label[0] != '\0';

    r->compiled = 0;
    for (size_t i = 0; i < r->nsource_labels; i++) {
        if (!osp_label_name_valid(osp_str_c(r->source_labels[i]))) {
            snprintf(err, errlen, "%s: \"%s\" is not a valid label name", "source_labels",
                     r->source_labels[i]);
            return OSP_EINVAL;
        }
    }
    if (a == OSP_RELABEL_HASHMOD && r->modulus == 0) {
        snprintf(err, errlen, "relabel configuration for hashmod requires non-zero modulus");
        return OSP_EINVAL;
    }
    if ((a == OSP_RELABEL_REPLACE || a == OSP_RELABEL_HASHMOD || a == OSP_RELABEL_LOWERCASE ||
         a == OSP_RELABEL_UPPERCASE || a == OSP_RELABEL_KEEPEQUAL || a == OSP_RELABEL_DROPEQUAL) &&
        !has_target) {
        snprintf(err, errlen, "relabel configuration for %s action requires 'target_label' value",
                 act);
        return OSP_EINVAL;
    }
    if (a == OSP_RELABEL_REPLACE && !has_var(r->target_label) &&
        !osp_label_name_valid(osp_str_c(r->target_label))) {
        snprintf(err, errlen, "\"%s\" is invalid 'target_label' for %s action", r->target_label,
                 act);
        return OSP_EINVAL;
    }
    if (a == OSP_RELABEL_REPLACE && has_var(r->target_label) &&
        !template_name_valid(r->target_label)) {
        snprintf(err, errlen, "\"%s\" is invalid 'target_label' for %s action", r->target_label,
                 act);
        return OSP_EINVAL;
    }
    if ((a == OSP_RELABEL_LOWERCASE || a == OSP_RELABEL_UPPERCASE || a == OSP_RELABEL_HASHMOD ||
         a == OSP_RELABEL_KEEPEQUAL || a == OSP_RELABEL_DROPEQUAL) &&
        !osp_label_name_valid(osp_str_c(r->target_label))) {
        snprintf(err, errlen, "\"%s\" is invalid 'target_label' for %s action", r->target_label,
                 act);
        return OSP_EINVAL;
    }
    if ((a == OSP_RELABEL_LOWERCASE || a == OSP_RELABEL_UPPERCASE) && !is_default_repl) {
        snprintf(err, errlen, "'replacement' can not be set for %s action", act);
        return OSP_EINVAL;
    }
    if (a == OSP_RELABEL_LABELMAP && !template_name_valid(r->replacement)) {
        snprintf(err, errlen, "\"%s\" is invalid 'replacement' for %s action", r->replacement, act);
        return OSP_EINVAL;
    }
    if ((a == OSP_RELABEL_KEEPEQUAL || a == OSP_RELABEL_DROPEQUAL) &&
        (!is_default_regex || r->modulus != 0 || !is_default_sep || !is_default_repl)) {
        snprintf(err, errlen,
                 "%s action requires only 'source_labels' and `target_label`, and no other fields",
                 act);
        return OSP_EINVAL;
    }
    if ((a == OSP_RELABEL_LABELDROP || a == OSP_RELABEL_LABELKEEP) &&
        (r->nsource_labels != 0 || has_target || r->modulus != 0 || !is_default_sep ||
         !is_default_repl)) {
        snprintf(err, errlen, "%s action requires only 'regex', and no other fields", act);
        return OSP_EINVAL;
    }

    char msg[128];
    int rc = osp_re2_compile(&r->re, osp_str_c(r->regex), OSP_RE2_ANCHORED, msg, sizeof msg);
    if (rc == OSP_ENOMEM) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (rc != 0) {
        snprintf(err, errlen, "invalid regex \"%s\": %s", r->regex, msg);
        return OSP_EINVAL;
    }
    r->compiled = 1;
    return 0;
}

void osp_relabel_rule_cleanup(osp_relabel_rule *r)
{
    if (r->compiled)
        osp_re2_cleanup(&r->re);
    r->compiled = 0;
}

/* hashmod hashes like Prometheus (crypto/md5), through nettle. */
static void md5(const void *data, size_t n, uint8_t out[MD5_DIGEST_SIZE])
{
    struct md5_ctx c;
    md5_init(&c);
    md5_update(&c, n, data);
    md5_digest(&c, MD5_DIGEST_SIZE, out);
}

/* ---- label set being rewritten ---- */

typedef struct lset {
    osp_label *a;
    size_t n, cap;
    osp_arena *arena;
} lset;

static osp_str lset_get(const lset *s, osp_str name)
{
    for (size_t i = 0; i < s->n; i++)
        if (osp_str_eq(s->a[i].name, name))
            return s->a[i].value;
    return (osp_str){"", 0};
}

static void lset_del(lset *s, osp_str name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (osp_str_eq(s->a[i].name, name)) {
            s->a[i] = s->a[--s->n];
            return;
        }
    }
}

/* Sets name=value; an empty value deletes the label, as labels.Builder.Set does. */
static int lset_set(lset *s, osp_str name, osp_str value)
{
    if (value.n == 0) {
        lset_del(s, name);
        return 0;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (osp_str_eq(s->a[i].name, name)) {
            s->a[i].value = value;
            return 0;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        osp_label *a = osp_arena_alloc(s->arena, cap * sizeof *a);
        if (!a)
            return OSP_ENOMEM;
        if (s->n)
            memcpy(a, s->a, s->n * sizeof *a);
        s->a = a;
        s->cap = cap;
    }
    s->a[s->n].name = name;
    s->a[s->n].value = value;
    s->n++;
    return 0;
}

/* Full match of s against the rule's regex; fills m (nm entries) when given. 1 on a match,
 * 0, or OSP_ENOMEM. */
static int rule_match(const osp_relabel_rule *r, osp_str s, regmatch_t *m, size_t nm)
{
    return osp_re2_match(&r->re, s, m, nm);
}

/* Go's regexp.Expand of tmpl with the rule's groups. */
static int expand(const osp_relabel_rule *r, const char *tmpl, osp_str src, const regmatch_t *m,
                  osp_arena *arena, osp_str *out)
{
    return osp_re2_expand(&r->re, osp_str_c(tmpl), src, m, arena, out);
}

static int label_cmp(const void *a, const void *b)
{
    return osp_str_cmp(((const osp_label *)a)->name, ((const osp_label *)b)->name);
}

/* Joins the values of the source labels with the separator, into the arena. */
static int join_sources(const osp_relabel_rule *r, const lset *s, osp_arena *arena, osp_str *out)
{
    size_t seplen = strlen(r->separator), total = 0;
    for (size_t i = 0; i < r->nsource_labels; i++)
        total += lset_get(s, osp_str_c(r->source_labels[i])).n + seplen;
    char *buf = osp_arena_alloc(arena, total + 1);
    if (!buf)
        return OSP_ENOMEM;
    size_t len = 0;
    for (size_t i = 0; i < r->nsource_labels; i++) {
        if (i) {
            memcpy(buf + len, r->separator, seplen);
            len += seplen;
        }
        osp_str v = lset_get(s, osp_str_c(r->source_labels[i]));
        if (v.n)
            memcpy(buf + len, v.p, v.n);
        len += v.n;
    }
    buf[len] = '\0';
    *out = osp_str_make(buf, len);
    return 0;
}

/* One rule; *keep = 0 when the set is dropped. */
static int relabel_one(const osp_relabel_rule *r, lset *s, osp_arena *arena, int *keep)
{
    osp_str val, res;
    osp_str target = osp_str_c(r->target_label);
    int rc = join_sources(r, s, arena, &val);
    if (rc)
        return rc;
    *keep = 1;
    switch (r->action) {
    case OSP_RELABEL_DROP:
    case OSP_RELABEL_KEEP:
        if ((rc = rule_match(r, val, NULL, 0)) < 0)
            return rc;
        *keep = rc == (r->action == OSP_RELABEL_KEEP);
        return 0;
    case OSP_RELABEL_DROPEQUAL:
        if (osp_str_eq(lset_get(s, target), val))
            *keep = 0;
        return 0;
    case OSP_RELABEL_KEEPEQUAL:
        if (!osp_str_eq(lset_get(s, target), val))
            *keep = 0;
        return 0;
    case OSP_RELABEL_REPLACE: {
        size_t nm = r->re.ngroups + 1;
        regmatch_t *m = osp_arena_alloc(arena, nm * sizeof *m);
        if (!m)
            return OSP_ENOMEM;
        if ((rc = rule_match(r, val, m, nm)) <= 0)
            return rc;
        osp_str tname;
        if ((rc = expand(r, r->target_label, val, m, arena, &tname)) != 0)
            return rc;
        if (!osp_label_name_valid(tname))
            return 0;
        if ((rc = expand(r, r->replacement, val, m, arena, &res)) != 0)
            return rc;
        if (res.n == 0) {
            lset_del(s, tname);
            return 0;
        }
        return lset_set(s, tname, res);
    }
    case OSP_RELABEL_LOWERCASE:
    case OSP_RELABEL_UPPERCASE: {
        char *p = (char *)val.p; /* our own arena copy */
        for (size_t i = 0; i < val.n; i++) {
            if (r->action == OSP_RELABEL_LOWERCASE && p[i] >= 'A' && p[i] <= 'Z')
                p[i] = (char)(p[i] + 32);
            else if (r->action == OSP_RELABEL_UPPERCASE && p[i] >= 'a' && p[i] <= 'z')
                p[i] = (char)(p[i] - 32);
        }
        return lset_set(s, target, val);
    }
    case OSP_RELABEL_HASHMOD: {
        uint8_t h[16];
        md5(val.p, val.n, h);
        uint64_t x = 0;
        for (int i = 8; i < 16; i++)
            x = x << 8 | h[i];
        char num[24];
        int len = snprintf(num, sizeof num, "%llu", (unsigned long long)(x % r->modulus));
        char *v = osp_arena_memdup(arena, num, (size_t)len + 1);
        if (!v)
            return OSP_ENOMEM;
        return lset_set(s, target, osp_str_make(v, (size_t)len));
    }
    case OSP_RELABEL_LABELMAP:
    case OSP_RELABEL_LABELDROP:
    case OSP_RELABEL_LABELKEEP: {
        /* Walk a snapshot: labels added while mapping are not visited again. */
        size_t n = s->n;
        osp_label *snap = osp_arena_memdup(arena, s->a, n * sizeof *snap);
        size_t nm = r->action == OSP_RELABEL_LABELMAP ? r->re.ngroups + 1 : 0;
        regmatch_t *m = nm ? osp_arena_alloc(arena, nm * sizeof *m) : NULL;
        if ((n && !snap) || (nm && !m))
            return OSP_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            int hit = rule_match(r, snap[i].name, m, nm);
            if (hit < 0)
                return hit;
            if (r->action == OSP_RELABEL_LABELDROP && hit)
                lset_del(s, snap[i].name);
            else if (r->action == OSP_RELABEL_LABELKEEP && !hit)
                lset_del(s, snap[i].name);
            else if (r->action == OSP_RELABEL_LABELMAP && hit) {
                osp_str name;
                if ((rc = expand(r, r->replacement, snap[i].name, m, arena, &name)) != 0)
                    return rc;
                if (name.n && (rc = lset_set(s, name, snap[i].value)) != 0)
                    return rc;
            }
        }
        return 0;
    }
    }
    return 0;
}

int osp_relabel_apply(const osp_relabel_rule *rules, size_t n, const osp_label *in, size_t nin,
                      osp_arena *arena, osp_label **out, size_t *nout, int *keep)
{
    lset s = {NULL, 0, 0, arena};
    int rc = 0;

    *out = NULL;
    *nout = 0;
    *keep = 1;
    for (size_t i = 0; i < nin; i++)
        if ((rc = lset_set(&s, in[i].name, in[i].value)) != 0)
            return rc;
    for (size_t i = 0; i < n; i++) {
        if (!rules[i].compiled)
            return OSP_EINVAL;
        if ((rc = relabel_one(&rules[i], &s, arena, keep)) != 0)
            return rc;
        if (!*keep)
            return 0;
    }
    if (s.n)
        qsort(s.a, s.n, sizeof *s.a, label_cmp);
    *out = s.a;
    *nout = s.n;
    return 0;
}
