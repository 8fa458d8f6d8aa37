/* Online log pattern mining (Drain): tokenizing and masking, the per-service prefix tree,
 * template matching and generalization, bucketed counts and queries. See README.md. */
#include "analytics/logpattern.h"
#include "analytics/logpattern_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/mem.h"

#define WILD OSP_LOGPATTERN_WILDCARD
#define WILD_LEN (sizeof WILD - 1)

void osp_logpattern_config_init(osp_logpattern_config *cfg)
{
    *cfg = (osp_logpattern_config){
        .depth = 4,
        .sim_threshold = 0.4,
        .max_children = 100,
        .max_templates = 1000,
        .max_services = 1000,
        .max_total = 20000,
        .max_message = 4096,
        .bucket_ns = 60ull * 1000000000ull,
        .nbuckets = 1440,
        .new_window_ns = 600ull * 1000000000ull,
    };
}

/* ---- tokenizing and masking ---- */

enum { C_SPACE = 1, C_DIGIT = 2 };

/* The byte classes tokenizing needs, by byte. */
static const uint8_t byte_class[256] = {
    [' '] = C_SPACE,  ['\t'] = C_SPACE, ['\n'] = C_SPACE, ['\r'] = C_SPACE,
    ['\v'] = C_SPACE, ['\f'] = C_SPACE, ['0'] = C_DIGIT,  ['1'] = C_DIGIT,
    ['2'] = C_DIGIT,  ['3'] = C_DIGIT,  ['4'] = C_DIGIT,  ['5'] = C_DIGIT,
    ['6'] = C_DIGIT,  ['7'] = C_DIGIT,  ['8'] = C_DIGIT,  ['9'] = C_DIGIT,
};

static int is_space(char c)
{
    return byte_class[(uint8_t)c] & C_SPACE;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the run of digits at s[i..n). */
static size_t digits(const char *s, size_t i, size_t n)
{
    size_t j = i;
    while (j < n && is_digit(s[j]))
        j++;
    return j - i;
}

/* Length of an unsigned decimal with an optional fraction at s[i..n); 0 if none. */
static size_t decimal(const char *s, size_t i, size_t n)
{
    size_t d = digits(s, i, n);
    if (d == 0)
        return 0;
    if (i + d + 1 < n && s[i + d] == '.' && is_digit(s[i + d + 1]))
        d += 1 + digits(s, i + d + 1, n);
    return d;
}

/* [+-]digits[.digits][(e|E)[+-]digits], or 0x followed by hex digits. */
static int is_number(const char *s, size_t n)
{
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (size_t i = 2; i < n; i++)
            if (!is_hex(s[i]))
                return 0;
        return 1;
    }
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    size_t d = decimal(s, i, n);
    if (d == 0)
        return 0;
    i += d;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        d = digits(s, i, n);
        if (d == 0)
            return 0;
        i += d;
    }
    return i == n;
}

/* Units a number may carry: durations, sizes, percent. The longest that matches is taken,
 * so "5ms" reads as 5 "ms", not 5 "m" then "s". */
#define UNIT(s)                                                                                    \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }
static const struct {
    const char *s;
    size_t n;
} units[] = {UNIT("ns"),  UNIT("us"),  UNIT("\xc2\xb5s"), UNIT("ms"), UNIT("s"),
             UNIT("min"), UNIT("m"),   UNIT("h"),         UNIT("d"),  UNIT("KiB"),
             UNIT("MiB"), UNIT("GiB"), UNIT("TiB"),       UNIT("KB"), UNIT("MB"),
             UNIT("GB"),  UNIT("TB"),  UNIT("kB"),        UNIT("B"),  UNIT("%")};

/* One or more decimal+unit pairs: 12ms, 1.5s, 1h30m, 512KiB, 99.5%. */
static int is_quantity(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t d = decimal(s, i, n);
        if (d == 0)
            return 0;
        i += d;
        size_t best = 0;
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
            size_t ul = units[u].n, k = 0;
            if (ul <= best || ul > n - i)
                continue;
            while (k < ul && s[i + k] == units[u].s[k]) /* units are short: no memcmp */
                k++;
            best = k == ul ? ul : best;
        }
        if (best == 0)
            return 0;
        i += best;
    }
    return 1;
}

/* Value of the n (at most 5) decimal digits at s. */
static unsigned value(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

/* a.b.c.d with each part 0..255, then optionally :port (0..65535). */
static int is_ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
        size_t d = digits(s, i, n);
        if (d == 0 || d > 3 || value(s + i, d) > 255)
            return 0;
        i += d;
    }
    if (i == n)
        return 1;
    if (s[i] != ':')
        return 0;
    size_t d = digits(s, i + 1, n);
    return d > 0 && d <= 5 && i + 1 + d == n && value(s + i + 1, d) <= 65535;
}

/* 8-4-4-4-12 hex digits. */
static int is_uuid(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return 0;
    }
    return 1;
}

/* 16 or more hex digits: trace ids, hashes, object ids. */
static int is_hex_id(const char *s, size_t n)
{
    if (n < 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_hex(s[i]))
            return 0;
    return 1;
}

/* Each kind by the first byte it may start with: numbers with a digit or a sign,
 * quantities and addresses with a digit, uuids and hex ids with a hex digit. */
static int is_variable(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (is_digit(s[0]))
        return is_number(s, n) || is_quantity(s, n) || is_ipv4(s, n) || is_uuid(s, n) ||
               is_hex_id(s, n);
    if (s[0] == '+' || s[0] == '-')
        return is_number(s, n);
    return is_hex(s[0]) && (is_uuid(s, n) || is_hex_id(s, n));
}

static int is_open(char c)
{
    return c == '(' || c == '[' || c == '{' || c == '"' || c == '\'';
}

static int is_close(char c)
{
    return c == ')' || c == ']' || c == '}' || c == '"' || c == '\'' || c == ',' || c == ';' ||
           c == ':' || c == '.';
}

/* Writes token t masked into out (room for t.n + 2 bytes) and returns its length, or 0
 * when t stays as it is (nothing written). eq: the offset of t's first '=' (SIZE_MAX for
 * none); no variable holds one, so with one only what follows it may be a variable. */
static size_t mask_token(osp_str t, size_t eq, char *out)
{
    size_t a = 0, b = t.n;
    while (a < b && is_open(t.p[a]))
        a++;
    while (b > a && is_close(t.p[b - 1]))
        b--;
    size_t keep = a; /* bytes of t kept before the "<*>" */
    if (eq != SIZE_MAX || !is_variable(t.p + a, b - a)) {
        keep = eq + 1; /* a '=' is never an opening or closing byte: a <= eq < b */
        if (eq == SIZE_MAX || eq == a || !is_variable(t.p + eq + 1, b - eq - 1))
            return 0;
    }
    memcpy(out, t.p, keep);
    memcpy(out + keep, WILD, WILD_LEN);
    memcpy(out + keep + WILD_LEN, t.p + b, t.n - b);
    return keep + WILD_LEN + t.n - b;
}

/* The part of message that is mined: at most max bytes (0: all), and when the cut falls
 * inside a token that token is dropped, unless it is the only one. */
static osp_str mined_part(osp_str m, size_t max, int *cut)
{
    *cut = max && m.n > max;
    if (!*cut)
        return m;
    size_t n = max;
    if (!is_space(m.p[n])) {
        while (n > 0 && !is_space(m.p[n - 1]))
            n--;
        if (n == 0)
            n = max;
    }
    return osp_str_make(m.p, n);
}

/* Shortest token that is_variable may take without a digit: a hex id of letters. */
#define MIN_DIGITLESS_VARIABLE 16

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Where the token at p[i] ends (its first whitespace byte, or n), with in *digit whether
 * it holds a digit and in *eq the index of its first '=' (SIZE_MAX for none). Eight bytes
 * at a time where it can (bit tricks: the lowest byte flagged below '!' or as '=' is
 * exact, and the digit test is exact per byte), then byte by byte. */
static size_t token_end(const uint8_t *p, size_t i, size_t n, int *digit, size_t *eq)
{
    unsigned cls = 0;
    *eq = SIZE_MAX;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (i + 8 <= n) {
        uint64_t x, low7, y;
        memcpy(&x, p + i, 8);
        uint64_t below = (x - ONES * '!') & ~x & HIGHS; /* whitespace or a control byte */
        size_t k = below ? (size_t)__builtin_ctzll(below) / 8 : 8;
        if (k < 8)
            x &= (1ull << (8 * k)) - 1; /* the bytes before it; 0 is neither digit nor '=' */
        low7 = x & ONES * 127;
        if ((ONES * (127 + '9' + 1) - low7) & ~x & (low7 + ONES * (127 - ('0' - 1))) & HIGHS)
            cls |= C_DIGIT;
        y = x ^ ONES * '=';
        uint64_t eqs = (y - ONES) & ~y & HIGHS;
        if (eqs && *eq == SIZE_MAX)
            *eq = i + (size_t)__builtin_ctzll(eqs) / 8;
        i += k;
        if (k == 8)
            continue;
        if (byte_class[p[i]] & C_SPACE)
            break;
        i++; /* a control byte is part of the token */
    }
#endif
    for (; i < n && !(byte_class[p[i]] & C_SPACE); i++) {
        if (p[i] == '=' && *eq == SIZE_MAX)
            *eq = i;
        cls |= byte_class[p[i]];
    }
    *digit = (cls & C_DIGIT) != 0;
    return i;
}

/* Splits m on whitespace and masks each token; toks (m.n / 2 + 1 entries) get the tokens,
 * pointing into m where a token is kept as it is, else into buf (3 * m.n bytes) where
 * its masked form is written. Returns the token count. */
static size_t tokenize(osp_str m, char *buf, osp_str *toks)
{
    const uint8_t *p = (const uint8_t *)m.p;
    size_t ntok = 0, used = 0, i = 0;
    while (i < m.n) {
        while (i < m.n && (byte_class[p[i]] & C_SPACE))
            i++;
        size_t start = i, eq;
        int digit;
        if (start == m.n)
            break;
        i = token_end(p, i, m.n, &digit, &eq);
        osp_str t = osp_str_make(m.p + start, i - start);
        if (!digit && eq == SIZE_MAX && t.n < MIN_DIGITLESS_VARIABLE) { /* never masked */
            toks[ntok++] = t;
            continue;
        }
        size_t len = mask_token(t, eq == SIZE_MAX ? SIZE_MAX : eq - start, buf + used);
        toks[ntok++] = len ? osp_str_make(buf + used, len) : t;
        used += len;
    }
    return ntok;
}

int osp_logpattern_mask(osp_str message, size_t max, char *out, size_t outlen)
{
    int cut;
    osp_str m = mined_part(message, max, &cut);
    int rc = OSP_ENOMEM;
    char *buf = osp_malloc(3 * m.n + 1);
    osp_str *toks = osp_malloc((m.n / 2 + 1) * sizeof *toks);
    if (!buf || !toks)
        goto out;
    size_t ntok = tokenize(m, buf, toks), len = 0;
    for (size_t i = 0; i < ntok; i++)
        len += toks[i].n + (i > 0);
    rc = OSP_ETOOBIG;
    if (len >= outlen)
        goto out;
    len = 0;
    for (size_t i = 0; i < ntok; i++) {
        if (i > 0)
            out[len++] = ' ';
        memcpy(out + len, toks[i].p, toks[i].n);
        len += toks[i].n;
    }
    out[len] = '\0';
    rc = (int)ntok;
out:
    osp_free(buf);
    osp_free(toks);
    return rc;
}

/* ---- counts ---- */

static void counts_add(counts *c, uint64_t t, const osp_logpattern_config *cfg)
{
    uint64_t b = t / cfg->bucket_ns, nb = cfg->nbuckets;
    if (c->total == 0) {
        c->first_ns = c->last_ns = t;
        c->head = b;
    }
    c->total++;
    c->first_ns = t < c->first_ns ? t : c->first_ns;
    c->last_ns = t > c->last_ns ? t : c->last_ns;
    if (b > c->head) {
        if (b - c->head >= nb)
            memset(c->ring, 0, nb * sizeof *c->ring);
        else
            for (uint64_t k = c->head + 1; k <= b; k++)
                c->ring[k % nb] = 0;
        c->head = b;
    } else if (c->head - b >= nb) {
        return; /* older than the ring: in the total and first seen only */
    }
    if (c->ring[b % nb] < UINT32_MAX)
        c->ring[b % nb]++;
}

/* Count in bucket b, 0 when b is outside the ring. */
static uint32_t counts_at(const counts *c, uint64_t b, uint64_t nb)
{
    if (c->total == 0 || b > c->head || c->head - b >= nb)
        return 0;
    return c->ring[b % nb];
}

static uint64_t counts_sum(const counts *c, uint64_t b0, uint64_t b1, uint64_t nb)
{
    uint64_t sum = 0;
    for (uint64_t b = b0; b <= b1; b++)
        sum += counts_at(c, b, nb);
    return sum;
}

/* ---- clusters ---- */

static int is_wild(osp_str t)
{
    return t.n == WILD_LEN && memcmp(t.p, WILD, WILD_LEN) == 0;
}

/* Sets c's tokens to toks (which may point into c's current text) and rebuilds the text. */
static int cluster_set_text(cluster *c, const osp_str *toks)
{
    size_t n = 0;
    for (size_t i = 0; i < c->ntok; i++)
        n += toks[i].n + (i > 0);
    char *text = osp_malloc(n + 1);
    if (!text)
        return OSP_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < c->ntok; i++) {
        if (i > 0)
            text[at++] = ' ';
        memcpy(text + at, toks[i].p, toks[i].n);
        c->tok[i] = osp_str_make(text + at, toks[i].n);
        at += toks[i].n;
    }
    text[at] = '\0';
    osp_free(c->text);
    c->text = text;
    c->ntext = n;
    return 0;
}

static void cluster_free(cluster *c)
{
    if (!c)
        return;
    osp_free(c->text);
    osp_free(c->tok);
    osp_free(c->c.ring);
    osp_free(c);
}

static cluster *cluster_new(const osp_str *toks, size_t ntok, unsigned nbuckets)
{
    cluster *c = osp_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ntok = ntok;
    c->tok = osp_calloc(ntok, sizeof *c->tok);
    c->c.ring = osp_calloc(nbuckets, sizeof *c->c.ring);
    if (!c->tok || !c->c.ring || cluster_set_text(c, toks) != 0) {
        cluster_free(c);
        return NULL;
    }
    return c;
}

/* Share of equal tokens among the positions where template or message is not "<*>"; 1 when
 * both are all wildcards. A template "<*>" facing a concrete token counts as a mismatch. */
static double similarity(const cluster *c, const osp_str *toks)
{
    size_t same = 0, counted = 0;
    for (size_t i = 0; i < c->ntok; i++) {
        int tw = is_wild(c->tok[i]), mw = is_wild(toks[i]);
        if (tw && mw)
            continue;
        counted++;
        same += !tw && !mw && osp_str_eq(c->tok[i], toks[i]);
    }
    return counted ? (double)same / (double)counted : 1.0;
}

/* Turns the positions where c differs from toks into "<*>". */
static int cluster_merge(cluster *c, const osp_str *toks)
{
    int changed = 0;
    for (size_t i = 0; i < c->ntok; i++)
        changed |= !is_wild(c->tok[i]) && !osp_str_eq(c->tok[i], toks[i]);
    if (!changed)
        return 0;
    osp_str *merged = osp_malloc(c->ntok * sizeof *merged);
    if (!merged)
        return OSP_ENOMEM;
    for (size_t i = 0; i < c->ntok; i++)
        merged[i] = osp_str_eq(c->tok[i], toks[i]) ? c->tok[i] : osp_str_make(WILD, WILD_LEN);
    int rc = cluster_set_text(c, merged);
    osp_free(merged);
    return rc;
}

/* ---- the tree ---- */

static void node_cleanup(node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        node_cleanup(n->kids[i]);
        osp_free(n->kids[i]);
    }
    if (n->wild) {
        node_cleanup(n->wild);
        osp_free(n->wild);
    }
    osp_free(n->kids);
    osp_free(n->key);
    osp_free(n->clusters);
}

static int has_digit(osp_str t)
{
    for (size_t i = 0; i < t.n; i++)
        if (is_digit(t.p[i]))
            return 1;
    return 0;
}

/* Adds a child to n: named key, or (key.p NULL) the token-count child ntok, or (key.p NULL
 * and ntok 0) the wildcard child. NULL when out of memory. */
static node *node_add(node *n, osp_str key, size_t ntok)
{
    int wild = !key.p && ntok == 0;
    node *k = osp_calloc(1, sizeof *k);
    node **slot =
        wild ? &n->wild : osp_array_push((void **)&n->kids, &n->nkids, &n->kids_cap, sizeof *slot);
    if (k && key.p) {
        k->key = osp_strndup(key.p, key.n);
        k->nkey = key.n;
    }
    if (!k || !slot || (key.p && !k->key)) {
        if (slot && !wild)
            n->nkids--;
        if (k)
            osp_free(k->key);
        osp_free(k);
        return NULL;
    }
    k->ntok = ntok;
    *slot = k;
    return k;
}

/* The child of n that token t leads to, creating it when create is set: tokens with digits
 * and "<*>" take the wildcard child, as do new tokens once n has max_children named ones.
 * NULL when the child does not exist (and create is 0) or on out of memory. */
static node *node_step(node *n, osp_str t, unsigned max_children, int create)
{
    if (!has_digit(t) && !is_wild(t)) {
        for (size_t i = 0; i < n->nkids; i++)
            if (osp_str_eq(osp_str_make(n->kids[i]->key, n->kids[i]->nkey), t))
                return n->kids[i];
        if (n->nkids < max_children)
            return create ? node_add(n, t, 0) : NULL;
    }
    if (!n->wild && create)
        return node_add(n, OSP_STR_NULL, 0);
    return n->wild;
}

/* The leaf for toks in s's tree (see node_step for create and NULL). */
static node *leaf_for(service *s, const osp_str *toks, size_t ntok,
                      const osp_logpattern_config *cfg, int create)
{
    node *n = NULL;
    for (size_t i = 0; i < s->root.nkids && !n; i++)
        if (s->root.kids[i]->ntok == ntok)
            n = s->root.kids[i];
    if (!n && create)
        n = node_add(&s->root, OSP_STR_NULL, ntok);
    size_t prefix = cfg->depth - 2 < ntok ? cfg->depth - 2 : ntok;
    for (size_t i = 0; i < prefix && n; i++)
        n = node_step(n, toks[i], cfg->max_children, create);
    return n;
}

static uint64_t template_id(const service *s, const cluster *c)
{
    for (uint64_t seed = 0;; seed++) {
        uint64_t h = XXH3_64bits_withSeed(s->name, s->nname + 1, seed); /* with the NUL */
        h = XXH3_64bits_withSeed(c->text, c->ntext, h);
        int taken = h == 0;
        for (size_t i = 0; i < s->nclusters && !taken; i++)
            taken = s->clusters[i]->id == h;
        if (!taken)
            return h;
    }
}

/* Makes a template from toks in s, with id and seq when not 0 (else a new id and the next
 * seq); OSP_ETOOBIG when a cap forbids it. */
static int cluster_insert(osp_logpattern *lp, service *s, const osp_str *toks, size_t ntok,
                          uint64_t id, uint64_t seq, cluster **out)
{
    if (s->nclusters >= lp->cfg.max_templates)
        return OSP_ETOOBIG;
    if (atomic_fetch_add(&lp->ntemplates, 1) >= lp->cfg.max_total) {
        atomic_fetch_sub(&lp->ntemplates, 1);
        return OSP_ETOOBIG;
    }
    int rc = OSP_ENOMEM;
    cluster *c = cluster_new(toks, ntok, lp->cfg.nbuckets);
    if (c)
        c->id = id ? id : template_id(s, c); /* before c joins s->clusters */
    node *leaf = c ? leaf_for(s, toks, ntok, &lp->cfg, 1) : NULL;
    cluster **ls = leaf ? osp_array_push((void **)&leaf->clusters, &leaf->nclusters,
                                         &leaf->clusters_cap, sizeof *ls)
                        : NULL;
    cluster **ss =
        ls ? osp_array_push((void **)&s->clusters, &s->nclusters, &s->clusters_cap, sizeof *ss)
           : NULL;
    if (!ss) {
        if (ls)
            leaf->nclusters--;
        goto fail;
    }
    if (seq) { /* the miner's seq stays the newest */
        uint64_t was = atomic_load(&lp->seq);
        while (was < seq && !atomic_compare_exchange_weak(&lp->seq, &was, seq))
            ;
        c->seq = seq;
    } else {
        c->seq = atomic_fetch_add(&lp->seq, 1) + 1;
    }
    *ls = *ss = c;
    *out = c;
    return 0;
fail:
    atomic_fetch_sub(&lp->ntemplates, 1);
    cluster_free(c);
    return rc;
}

int osp__logpattern_restore(osp_logpattern *lp, service *s, const osp_str *toks, size_t ntok,
                            uint64_t id, uint64_t seq, cluster **out)
{
    return cluster_insert(lp, s, toks, ntok, id, seq, out);
}

/* Mines toks into s (s->mu held); *id gets the template's id or 0. */
static int service_add(osp_logpattern *lp, service *s, const osp_str *toks, size_t ntok, uint64_t t,
                       uint64_t *id)
{
    cluster *best = NULL;
    double best_sim = -1;
    node *leaf = leaf_for(s, toks, ntok, &lp->cfg, 0);
    for (size_t i = 0; leaf && i < leaf->nclusters; i++) {
        double sim = similarity(leaf->clusters[i], toks);
        if (sim > best_sim) {
            best_sim = sim;
            best = leaf->clusters[i];
        }
    }
    int rc = 0;
    if (best && best_sim >= lp->cfg.sim_threshold)
        rc = best_sim < 1.0 ? cluster_merge(best, toks) : 0; /* 1: nothing to generalize */
    else
        rc = cluster_insert(lp, s, toks, ntok, 0, 0, &best);
    if (rc == OSP_ETOOBIG) {
        counts_add(&s->other, t, &lp->cfg);
        *id = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    counts_add(&best->c, t, &lp->cfg);
    s->messages++;
    *id = best->id;
    return 0;
}

/* ---- services and the miner ---- */

static void service_free(service *s)
{
    for (size_t i = 0; i < s->nclusters; i++)
        cluster_free(s->clusters[i]);
    node_cleanup(&s->root);
    osp_free(s->clusters);
    osp_free(s->other.ring);
    osp_free(s->name);
    pthread_mutex_destroy(&s->mu);
    osp_free(s);
}

/* The slot of the service named name in the table (its own or the empty one that ends the
 * probe); lock held. */
static service **service_slot(osp_logpattern *lp, osp_str name, uint64_t h)
{
    size_t mask = lp->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        service *s = lp->slots[i];
        if (!s || (s->hash == h && osp_str_eq(osp_str_make(s->name, s->nname), name)))
            return &lp->slots[i];
    }
}

int osp__logpattern_service(osp_logpattern *lp, osp_str name, service **out)
{
    uint64_t h = XXH3_64bits(name.p ? name.p : "", name.n);
    pthread_rwlock_rdlock(&lp->lock);
    *out = *service_slot(lp, name, h);
    pthread_rwlock_unlock(&lp->lock);
    if (*out)
        return 0;
    int rc = 0;
    pthread_rwlock_wrlock(&lp->lock);
    service **slot = service_slot(lp, name, h);
    if (*slot || lp->nservices >= lp->cfg.max_services)
        goto out;
    rc = OSP_ENOMEM;
    service *s = osp_calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->name = osp_strndup(name.p ? name.p : "", name.n);
    s->other.ring = osp_calloc(lp->cfg.nbuckets, sizeof *s->other.ring);
    if (!s->name || !s->other.ring) {
        osp_free(s->name);
        osp_free(s->other.ring);
        osp_free(s);
        goto out;
    }
    s->nname = name.n;
    s->hash = h;
    pthread_mutex_init(&s->mu, NULL);
    *slot = s;
    lp->list[lp->nservices++] = s;
    rc = 0;
out:
    *out = *slot;
    pthread_rwlock_unlock(&lp->lock);
    return rc;
}

int osp_logpattern_create(const osp_logpattern_config *cfg, osp_logpattern **out)
{
    osp_logpattern_config c, d;
    osp_logpattern_config_init(&d);
    c = cfg ? *cfg : d;
    c.depth = c.depth ? c.depth : d.depth;
    c.sim_threshold = c.sim_threshold != 0 ? c.sim_threshold : d.sim_threshold;
    c.max_children = c.max_children ? c.max_children : d.max_children;
    c.max_templates = c.max_templates ? c.max_templates : d.max_templates;
    c.max_services = c.max_services ? c.max_services : d.max_services;
    c.max_total = c.max_total ? c.max_total : d.max_total;
    c.max_message = c.max_message ? c.max_message : d.max_message;
    c.bucket_ns = c.bucket_ns ? c.bucket_ns : d.bucket_ns;
    c.nbuckets = c.nbuckets ? c.nbuckets : d.nbuckets;
    c.new_window_ns = c.new_window_ns ? c.new_window_ns : d.new_window_ns;
    if (c.depth < 3 || c.depth > 16 || !(c.sim_threshold > 0 && c.sim_threshold <= 1) ||
        c.max_services > (1u << 20) || c.max_message > (1u << 30))
        return OSP_EINVAL;
    osp_logpattern *lp = osp_calloc(1, sizeof *lp);
    if (!lp)
        return OSP_ENOMEM;
    lp->cfg = c;
    lp->nslots = 16;
    while (lp->nslots < 2 * (size_t)c.max_services)
        lp->nslots *= 2;
    lp->slots = osp_calloc(lp->nslots, sizeof *lp->slots);
    lp->list = osp_calloc(c.max_services, sizeof *lp->list);
    if (!lp->slots || !lp->list) {
        osp_free(lp->slots);
        osp_free(lp->list);
        osp_free(lp);
        return OSP_ENOMEM;
    }
    pthread_rwlock_init(&lp->lock, NULL);
    *out = lp;
    return 0;
}

void osp_logpattern_destroy(osp_logpattern *lp)
{
    if (!lp)
        return;
    for (size_t i = 0; i < lp->nservices; i++)
        service_free(lp->list[i]);
    pthread_rwlock_destroy(&lp->lock);
    osp_free(lp->slots);
    osp_free(lp->list);
    osp_free(lp);
}

int osp_logpattern_add(osp_logpattern *lp, osp_str service_name, osp_str message, uint64_t time_ns,
                       uint64_t *id)
{
    uint64_t idv = 0;
    service *s;
    int rc = osp__logpattern_service(lp, service_name, &s);
    char *buf = NULL;
    if (rc != 0 || !s) {
        if (rc == 0)
            atomic_fetch_add_explicit(&lp->dropped, 1, memory_order_relaxed);
        goto out;
    }
    int cut;
    osp_str m = mined_part(message, lp->cfg.max_message, &cut);
    if (cut)
        atomic_fetch_add_explicit(&lp->truncated, 1, memory_order_relaxed);
    /* one block: the masked bytes, then the tokens; on the stack for most lines */
    _Alignas(osp_str) char small[4096];
    size_t toks_at = (3 * m.n + 15) & ~(size_t)15, need = toks_at + (m.n / 2 + 1) * sizeof(osp_str);
    rc = OSP_ENOMEM;
    char *block = need <= sizeof small ? small : (buf = osp_malloc(need));
    if (!block)
        goto out;
    osp_str *toks = (osp_str *)(void *)(block + toks_at);
    size_t ntok = tokenize(m, block, toks);
    rc = 0;
    if (ntok == 0) {
        atomic_fetch_add_explicit(&lp->empty, 1, memory_order_relaxed);
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    rc = service_add(lp, s, toks, ntok, time_ns, &idv);
    pthread_mutex_unlock(&s->mu);
out:
    osp_free(buf);
    if (id)
        *id = idv;
    return rc;
}

uint64_t osp_logpattern_seq(osp_logpattern *lp)
{
    return atomic_load(&lp->seq);
}

void osp_logpattern_stats_get(osp_logpattern *lp, osp_logpattern_stats *st)
{
    *st = (osp_logpattern_stats){
        .templates = atomic_load(&lp->ntemplates),
        .empty = atomic_load(&lp->empty),
        .truncated = atomic_load(&lp->truncated),
        .dropped = atomic_load(&lp->dropped),
    };
    pthread_rwlock_rdlock(&lp->lock);
    st->services = lp->nservices;
    for (size_t i = 0; i < lp->nservices; i++) {
        service *s = lp->list[i];
        pthread_mutex_lock(&s->mu);
        st->messages += s->messages;
        st->other += s->other.total;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_rwlock_unlock(&lp->lock);
}

/* ---- queries ---- */

typedef struct candidate {
    service *s;
    cluster *c;
    uint64_t count, id;
} candidate;

static int by_count(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int row_by_count(const void *pa, const void *pb)
{
    const osp_logpattern_row *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Copies candidate k into row r (k's service lock held). */
static int copy_row(osp_logpattern *lp, const candidate *k, uint64_t b0, size_t nb, uint64_t end_ns,
                    osp_arena *arena, osp_logpattern_row *r)
{
    const cluster *c = k->c;
    uint32_t *buckets = osp_arena_calloc(arena, nb ? nb : 1, sizeof *buckets);
    r->text = osp_arena_strdup(arena, osp_str_make(c->text, c->ntext));
    r->service = osp_arena_strdup(arena, osp_str_make(k->s->name, k->s->nname));
    if (!buckets || !r->text.p || !r->service.p)
        return OSP_ENOMEM;
    r->count = 0;
    for (size_t i = 0; i < nb; i++) {
        buckets[i] = counts_at(&c->c, b0 + i, lp->cfg.nbuckets);
        r->count += buckets[i];
    }
    r->buckets = buckets;
    r->id = c->id;
    r->seq = c->seq;
    r->total = c->c.total;
    r->first_seen_ns = c->c.first_ns;
    r->last_seen_ns = c->c.last_ns;
    uint64_t from = end_ns > lp->cfg.new_window_ns ? end_ns - lp->cfg.new_window_ns : 0;
    r->is_new = c->c.first_ns >= from && c->c.first_ns <= end_ns;
    return 0;
}

int osp_logpattern_query_run(osp_logpattern *lp, const osp_logpattern_query *q, osp_arena *arena,
                             osp_logpattern_result *res)
{
    if (q->start_ns > q->end_ns)
        return OSP_EINVAL;
    const osp_logpattern_config *cfg = &lp->cfg;
    uint64_t b1 = q->end_ns / cfg->bucket_ns, b0 = q->start_ns / cfg->bucket_ns;
    if (b1 - b0 >= cfg->nbuckets)
        b0 = b1 - cfg->nbuckets + 1;
    *res = (osp_logpattern_result){.bucket_ns = cfg->bucket_ns,
                                   .first_bucket_ns = b0 * cfg->bucket_ns,
                                   .nbuckets = (size_t)(b1 - b0 + 1)};
    uint64_t upto = osp_logpattern_seq(lp); /* every template up to it is in its service */
    candidate *ks = NULL;
    size_t nks = 0, cap = 0;
    int rc = OSP_ENOMEM;
    pthread_rwlock_rdlock(&lp->lock);
    service *one = NULL;
    if (q->service.p)
        one = *service_slot(lp, q->service, XXH3_64bits(q->service.p, q->service.n));
    service **list = q->service.p ? &one : lp->list;
    size_t nlist = q->service.p ? (one != NULL) : lp->nservices;
    for (size_t i = 0; i < nlist; i++) {
        service *s = list[i];
        pthread_mutex_lock(&s->mu);
        res->other += counts_sum(&s->other, b0, b1, cfg->nbuckets);
        for (size_t j = 0; j < s->nclusters; j++) {
            cluster *c = s->clusters[j];
            uint64_t n = c->seq > q->after_seq && c->seq <= upto
                             ? counts_sum(&c->c, b0, b1, cfg->nbuckets)
                             : 0;
            candidate *k = n ? osp_array_push((void **)&ks, &nks, &cap, sizeof *k) : NULL;
            if (n && !k) {
                pthread_mutex_unlock(&s->mu);
                goto out;
            }
            if (k)
                *k = (candidate){s, c, n, c->id};
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (nks > 1)
        qsort(ks, nks, sizeof *ks, by_count);
    size_t nrows = q->limit && q->limit < nks ? q->limit : nks;
    res->rows = osp_arena_calloc(arena, nrows ? nrows : 1, sizeof *res->rows);
    if (!res->rows)
        goto out;
    for (size_t i = 0; i < nrows; i++) {
        pthread_mutex_lock(&ks[i].s->mu);
        rc = copy_row(lp, &ks[i], b0, res->nbuckets, q->end_ns, arena, &res->rows[i]);
        pthread_mutex_unlock(&ks[i].s->mu);
        if (rc != 0)
            goto out;
    }
    res->nrows = nrows;
    qsort(res->rows, nrows, sizeof *res->rows, row_by_count); /* counts may have moved */
    rc = 0;
out:
    pthread_rwlock_unlock(&lp->lock);
    osp_free(ks);
    return rc;
}
