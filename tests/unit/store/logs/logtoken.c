/* Tests for src/store/logs/logtoken.c: tokens, trigrams and needle keys. */
#include "testutil.h"

#include "store/logs/logtoken.h"

typedef struct seen {
    char toks[16][32];
    int ntoks;
    uint32_t tris[64];
    int ntris;
} seen;

static void on_tok(osp_str tok, void *ctx)
{
    seen *s = ctx;
    assert_true(tok.n < 32);
    memcpy(s->toks[s->ntoks], tok.p, tok.n);
    s->toks[s->ntoks++][tok.n] = 0;
}

static void on_tri(uint32_t tri, void *ctx)
{
    seen *s = ctx;
    s->tris[s->ntris++] = tri;
}

static void test_scan(void **state)
{
    (void)state;
    seen s = {0};
    osp_logtok_line_scan(osp_str_c("GET /a/b_c?x=12 \xc3\xa9t\xc3\xa9 ok-200"), on_tok, on_tri, &s);
    const char *want[] = {"GET", "a", "b_c", "x", "12", "\xc3\xa9t\xc3\xa9", "ok", "200"};
    assert_int_equal(s.ntoks, 8);
    for (int i = 0; i < 8; i++)
        assert_string_equal(s.toks[i], want[i]);
    /* GET: 1, b_c: 1, été (5 bytes): 3, 200: 1. */
    assert_int_equal(s.ntris, 6);
    assert_int_equal(s.tris[0], (uint32_t)('G' << 16 | 'E' << 8 | 'T'));
    assert_int_equal(s.tris[1], (uint32_t)('b' << 16 | '_' << 8 | 'c'));
    assert_int_equal(s.tris[5], (uint32_t)('2' << 16 | '0' << 8 | '0'));
    memset(&s, 0, sizeof s);
    osp_logtok_line_scan(osp_str_c(""), on_tok, on_tri, &s);
    osp_logtok_line_scan(osp_str_c(" -- ::"), on_tok, on_tri, &s);
    assert_int_equal(s.ntoks + s.ntris, 0);
}

static void test_keys_apart(void **state)
{
    (void)state;
    /* A three-byte token's key differs from its only trigram's key. */
    assert_true(osp_logtok_token_key(osp_str_c("abc")) !=
                osp_logtok_trigram_key('a' << 16 | 'b' << 8 | 'c'));
    assert_true(osp_logtok_token_key(osp_str_c("abc")) != osp_logtok_token_key(osp_str_c("abd")));
}

static void test_needle_keys(void **state)
{
    (void)state;
    uint64_t k[64];
    /* "error": unbounded on both sides, only its 3 trigrams. */
    assert_int_equal(osp_logtok_needle_keys(osp_str_c("error"), k, 64), 3);
    /* " id=42 ": "id" and "42" are whole tokens (bounded), too short for trigrams. */
    size_t n = osp_logtok_needle_keys(osp_str_c(" id=42 "), k, 64);
    assert_int_equal(n, 2);
    assert_true(k[0] == osp_logtok_token_key(osp_str_c("id")));
    assert_true(k[1] == osp_logtok_token_key(osp_str_c("42")));
    /* "ab": nothing to require. */
    assert_int_equal(osp_logtok_needle_keys(osp_str_c("ab"), k, 64), 0);
    /* "x timeout=": "x" unbounded on the left; "timeout" whole (4 trigrams + 1). */
    assert_int_equal(osp_logtok_needle_keys(osp_str_c("x timeout="), k, 64), 6);
    /* The cap is honoured. */
    assert_int_equal(osp_logtok_needle_keys(osp_str_c("abcdefghij"), k, 3), 3);
}

/* Keys of one line, as a sorted array. */
typedef struct keyvec {
    uint64_t *a;
    size_t n, cap;
} keyvec;

static void push_key(uint64_t key, void *ctx)
{
    keyvec *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 256;
        v->a = realloc(v->a, v->cap * sizeof *v->a);
    }
    v->a[v->n++] = key;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A needle that is any substring of a line requires only keys of that line. */
static void test_no_false_negatives(void **state)
{
    (void)state;
    static const char alphabet[] = "abcAB_09 =:/.-\"{}\xc3\xa9\x80\xff\t";
    uint64_t seed = 12345, needle_keys[512];
    char line[200];
    keyvec v = {0};
    size_t checked = 0;
    for (int iter = 0; iter < 20000; iter++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = 1 + (seed >> 33) % (sizeof line - 1);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            line[i] = alphabet[(seed >> 33) % (sizeof alphabet - 1)];
        }
        v.n = 0;
        osp_logtok_line_keys(osp_str_make(line, n), push_key, &v);
        qsort(v.a, v.n, sizeof *v.a, cmp_u64);
        for (int j = 0; j < 8; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t a = (seed >> 33) % n, len = 1 + (seed >> 17) % (n - a);
            size_t nk = osp_logtok_needle_keys(osp_str_make(line + a, len), needle_keys, 512);
            for (size_t k = 0; k < nk; k++, checked++)
                assert_non_null(bsearch(&needle_keys[k], v.a, v.n, sizeof *v.a, cmp_u64));
        }
    }
    assert_true(checked > 100000);
    free(v.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_keys_apart),
        cmocka_unit_test(test_needle_keys),
        cmocka_unit_test(test_no_false_negatives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
