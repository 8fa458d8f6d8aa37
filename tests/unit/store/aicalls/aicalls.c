/* Tests of the AI call index (store/aicalls): the segment format and its blocks, reading
 * version 1 segments, reopening, torn and corrupt blocks, queries and retention. */
#include "testutil.h"

#include <sys/stat.h>
#include <xxhash.h>

#include "../storetest.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/aicalls/aicalls.h"
#include "store/aicalls/aicseg.h"
#include "core/endian.h"
#include "store/partdir.h"

#define DAY_NS 86400000000000ull

/* A record with every field set, distinct per i; texts of text_n bytes. */
static osp_aicall make_call(int i, uint8_t trace, char *texts, size_t text_n)
{
    static const char *const sessions[] = {"s-1", "s-2"};
    osp_aicall a = {
        .start_ns = 1000000000ull * (uint64_t)(100 + i),
        .end_ns = 1000000000ull * (uint64_t)(100 + i) + 5000000,
        .service = osp_str_c("chat-api"),
        .name = osp_str_c("chat gpt-4o"),
        .type = i % 3 == 2 ? OSP_GENAI_TOOL : OSP_GENAI_LLM,
        .operation = osp_str_c("chat"),
        .provider = osp_str_c("openai"),
        .request_model = osp_str_c("gpt-4o"),
        .response_model = osp_str_c("gpt-4o-2024-08-06"),
        .input_tokens = 100 + i,
        .output_tokens = 20 + i,
        .cache_read_tokens = i,
        .cache_write_tokens = -1,
        .reasoning_tokens = 3,
        .cache_in_input = 1,
        .ttft_ns = 40000000 + i,
        .tpot_ns = -1,
        .streaming = i % 2,
        .max_gap_ns = 7 * i,
        .session_id = osp_str_c(sessions[i % 2]),
        .user_id = osp_str_c("alice"),
        .agent_name = osp_str_c("planner"),
        .tool_name = osp_str_c("search"),
        .is_error = i == 1,
        .error_type = osp_str_c(i == 1 ? "timeout" : ""),
        .input_text = osp_str_make(texts, text_n),
        .output_text = osp_str_c("{\"role\":\"assistant\"}"),
    };
    memset(a.trace_id, trace, 16);
    memset(a.span_id, 0x10 + i, 8);
    memset(a.parent_span_id, i ? 0x10 : 0, 8);
    return a;
}

static void assert_str(osp_str a, osp_str b)
{
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n);
}

/* Every field of got equals want (texts cut to the limit). */
static void assert_call(const osp_aicall *got, const osp_aicall *want)
{
    assert_memory_equal(got->trace_id, want->trace_id, 16);
    assert_memory_equal(got->span_id, want->span_id, 8);
    assert_memory_equal(got->parent_span_id, want->parent_span_id, 8);
    assert_int_equal(got->start_ns, want->start_ns);
    assert_int_equal(got->end_ns, want->end_ns);
    assert_int_equal(got->type, want->type);
    const int64_t g[] = {
        got->input_tokens,     got->output_tokens, got->cache_read_tokens, got->cache_write_tokens,
        got->reasoning_tokens, got->ttft_ns,       got->tpot_ns,           got->max_gap_ns,
        got->cache_in_input,   got->streaming,     got->is_error};
    const int64_t w[] = {want->input_tokens,      want->output_tokens,
                         want->cache_read_tokens, want->cache_write_tokens,
                         want->reasoning_tokens,  want->ttft_ns,
                         want->tpot_ns,           want->max_gap_ns,
                         want->cache_in_input,    want->streaming,
                         want->is_error};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        assert_int_equal(g[i], w[i]);
    const osp_str gs[] = {got->service,    got->name,          got->operation,
                          got->provider,   got->request_model, got->response_model,
                          got->session_id, got->user_id,       got->agent_name,
                          got->tool_name,  got->error_type,    got->output_text};
    const osp_str ws[] = {want->service,    want->name,          want->operation,
                          want->provider,   want->request_model, want->response_model,
                          want->session_id, want->user_id,       want->agent_name,
                          want->tool_name,  want->error_type,    want->output_text};
    for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++)
        assert_str(gs[i], ws[i]);
    assert_str(got->input_text, osp_aicall_cut(want->input_text, OSP_AICALL_MAX_TEXT));
}

static osp_aicalls *open_budget(const char *dir, uint64_t retention_ns, size_t memory_bytes)
{
    char path[1024];
    osp_aicalls *s;
    snprintf(path, sizeof path, "%s/aicalls", dir);
    osp_aicalls_options opt = {.dir = path,
                               .retention_ns = retention_ns,
                               .memory_bytes = memory_bytes,
                               .fsync_policy = OSP_FSYNC_ALWAYS};
    assert_int_equal(osp_aicalls_open(&opt, &s), 0);
    return s;
}

static osp_aicalls *open_dir(const char *dir, uint64_t retention_ns)
{
    return open_budget(dir, retention_ns, 0);
}

/* The records of trace t (with texts). */
static size_t select_trace(osp_aicalls *s, uint8_t t, osp_arena *arena, osp_aicall **out)
{
    uint8_t id[16];
    size_t n;
    memset(id, t, 16);
    osp_aicall_query q = {.trace_id = id, .with_text = 1};
    assert_int_equal(osp_aicalls_select(s, &q, arena, out, &n), 0);
    return n;
}

/* The path of the first segment written today under dir/aicalls. */
static void seg_path(const char *dir, char *out, size_t n)
{
    char root[1024];
    snprintf(root, sizeof root, "%s/aicalls", dir);
    char *p = osp_partdir_path(root, (uint32_t)(osp_clock_ns(CLOCK_REALTIME) / DAY_NS), 1, 0);
    assert_non_null(p);
    snprintf(out, n, "%s", p);
    osp_free(p);
}

static size_t quarantined(const char *dir)
{
    char cmd[1200], line[64];
    snprintf(cmd, sizeof cmd, "ls '%s/aicalls/quarantine' | wc -l", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    pclose(f);
    return (size_t)atoi(line);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("aicalls");
    char big[OSP_AICALL_MAX_TEXT + 8];
    osp_aicall calls[3];
    /* A text past the limit whose cut falls inside a 3-byte character. */
    memset(big, 'x', sizeof big);
    memcpy(big + OSP_AICALL_MAX_TEXT - 1, "\xe2\x82\xac", 3);
    for (int i = 0; i < 3; i++)
        calls[i] = make_call(i, 0xA1, big, i == 2 ? sizeof big : 5);
    osp_aicalls *s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_append(s, calls, 3), 0);
    osp_aicalls_close(s);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 3);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_aicall *got;
    assert_int_equal(select_trace(s, 0xA1, &arena, &got), 3);
    for (int i = 0; i < 3; i++)
        assert_call(&got[i], &calls[i]);
    assert_int_equal(got[2].input_text.n, OSP_AICALL_MAX_TEXT - 1); /* cut before the euro */
    /* By session, user and agent; without texts. */
    size_t n;
    osp_aicall_query q = {.session = osp_str_c("s-2")};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 3); /* the whole trace of a session's record */
    assert_int_equal(got[0].input_text.n, 0);
    q = (osp_aicall_query){.user = osp_str_c("alice")};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 3);
    q = (osp_aicall_query){.agent = osp_str_c("nobody")};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 0);
    q = (osp_aicall_query){.max_records = 2};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), OSP_ETOOBIG);
    /* The time range selects traces whose records reach into it. */
    q = (osp_aicall_query){.start_ns = calls[2].start_ns + 1};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 0);
    q = (osp_aicall_query){.start_ns = calls[1].start_ns, .end_ns = calls[1].start_ns};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 3);
    osp_arena_cleanup(&arena);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* The bytes of the block that holds records calls[0..n) alone, in *out. */
static void block_of(const osp_aicall *calls, size_t n, osp_buf *out)
{
    osp_buf raw;
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    osp_buf_init(&raw, 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(osp_aicseg_encode(&calls[i], &raw), 0);
    assert_int_equal(osp_aicseg_block_pack(cctx, raw.data, raw.len, out), 0);
    osp_buf_cleanup(&raw);
    ZSTD_freeCCtx(cctx);
}

/* Two appends to the same segment, the second damaged by how: the first survives. */
static void damaged(void (*damage)(const char *path, size_t first_len))
{
    char *dir = osp_test_tmpdir("aicalls");
    char path[1024];
    osp_aicall calls[4];
    osp_buf enc;
    for (int i = 0; i < 4; i++)
        calls[i] = make_call(i, (uint8_t)(0xB0 + i), "hello", 5);
    osp_buf_init(&enc, 0);
    block_of(calls, 1, &enc); /* the first append's block */
    osp_aicalls *s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_append(s, calls, 1), 0);
    assert_int_equal(osp_aicalls_append(s, calls + 1, 3), 0);
    osp_aicalls_close(s);
    seg_path(dir, path, sizeof path);
    damage(path, enc.len);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 1);
    assert_int_equal(quarantined(dir), 1);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_aicall *got;
    assert_int_equal(select_trace(s, 0xB0, &arena, &got), 1); /* texts still readable */
    assert_call(&got[0], &calls[0]);
    /* New records go to a new segment and survive a reopen. */
    assert_int_equal(osp_aicalls_append(s, calls + 3, 1), 0);
    osp_aicalls_close(s);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 2);
    assert_int_equal(select_trace(s, 0xB3, &arena, &got), 1);
    assert_call(&got[0], &calls[3]);
    osp_arena_cleanup(&arena);
    osp_buf_cleanup(&enc);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void cut_second(const char *path, size_t first_len)
{
    /* Leaves the second block torn after a few bytes. */
    osp_test_run("truncate -s %zu '%s'", OSP_AICSEG_HEADER_SIZE + first_len + 20, path);
}

static void flip_second(const char *path, size_t first_len)
{
    osp_test_flip_byte(path, (off_t)(OSP_AICSEG_HEADER_SIZE + first_len + 60), 0x40);
}

static void test_truncated(void **state)
{
    (void)state;
    damaged(cut_second);
}

static void test_corrupted(void **state)
{
    (void)state;
    damaged(flip_second);
}

static void test_retention(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("aicalls");
    osp_aicall calls[2] = {make_call(0, 0xC0, "a", 1), make_call(1, 0xC1, "b", 1)};
    osp_aicalls *s = open_dir(dir, DAY_NS);
    assert_int_equal(osp_aicalls_append(s, calls, 2), 0);
    uint64_t now = osp_clock_ns(CLOCK_REALTIME);
    assert_int_equal(osp_aicalls_maintain(s, now), 0); /* today stays */
    assert_int_equal(osp_aicalls_count(s), 2);
    assert_int_equal(osp_aicalls_maintain(s, now + 3 * DAY_NS), 0);
    assert_int_equal(osp_aicalls_count(s), 0);
    /* Appending after the drop starts a new segment. */
    assert_int_equal(osp_aicalls_append(s, calls, 1), 0);
    assert_int_equal(osp_aicalls_count(s), 1);
    osp_aicalls_close(s);
    s = open_dir(dir, DAY_NS);
    assert_int_equal(osp_aicalls_count(s), 1);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* Copies (mv: moves) the segment file at from to the one of (day, seq) under dir. */
static void put_seg(const char *dir, const char *from, uint32_t day, uint64_t seq, const char *how)
{
    char root[1024], cmd[4096];
    snprintf(root, sizeof root, "%s/aicalls", dir);
    char *to = osp_partdir_path(root, day, seq, 0);
    assert_non_null(to);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && %s '%s' '%s'", to, how, from, to);
    assert_int_equal(system(cmd), 0);
    osp_free(to);
}

/* Under a memory budget that one day of records overfills, the index holds only the
 * newest day, at start-up and when maintenance finds it grown, and says where it starts;
 * the files stay, and without the budget every day is back. */
static void test_memory_budget(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("aicalls"), path[1024];
    uint32_t today = (uint32_t)(osp_clock_ns(CLOCK_REALTIME) / DAY_NS);
    osp_aicall calls[40];
    for (int i = 0; i < 40; i++)
        calls[i] = make_call(i, (uint8_t)(0x40 + i), "q", 1);
    osp_aicalls *s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_append(s, calls, 40), 0);
    osp_aicalls_close(s);
    seg_path(dir, path, sizeof path);
    put_seg(dir, path, today - 2, 100, "cp");
    put_seg(dir, path, today - 1, 101, "cp");

    s = open_budget(dir, 0, 1); /* start-up: the newest day only */
    assert_int_equal(osp_aicalls_count(s), 40);
    assert_int_equal(osp_aicalls_indexed_from(s), (uint64_t)today * DAY_NS);
    assert_int_equal(osp_aicalls_maintain(s, osp_clock_ns(CLOCK_REALTIME)), 0);
    assert_int_equal(osp_aicalls_count(s), 40);
    osp_aicalls_close(s);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 120);
    assert_int_equal(osp_aicalls_indexed_from(s), 0);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);

    /* Maintenance: one old day, then today's appends past the budget. */
    assert_int_equal(mkdir(dir, 0755), 0);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_append(s, calls, 40), 0);
    osp_aicalls_close(s);
    put_seg(dir, path, today - 2, 100, "mv");
    s = open_budget(dir, 0, 1);
    assert_int_equal(osp_aicalls_count(s), 40); /* a single day stays, whatever its size */
    assert_int_equal(osp_aicalls_indexed_from(s), 0);
    assert_int_equal(osp_aicalls_append(s, calls, 20), 0);
    assert_int_equal(osp_aicalls_count(s), 60);
    assert_int_equal(osp_aicalls_maintain(s, osp_clock_ns(CLOCK_REALTIME)), 0);
    assert_int_equal(osp_aicalls_count(s), 20);
    assert_int_equal(osp_aicalls_indexed_from(s), (uint64_t)today * DAY_NS);
    osp_aicall *got;
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    assert_int_equal(select_trace(s, 0x40, &arena, &got), 1); /* today's record, its text */
    assert_call(&got[0], &calls[0]);
    osp_arena_cleanup(&arena);
    osp_aicalls_close(s);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 60);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* A version 1 frame of a (as version 1 wrote them) appended to out. */
static void v1_frame(const osp_aicall *a, osp_buf *out)
{
    osp_buf rec;
    osp_buf_init(&rec, 0);
    assert_int_equal(osp_aicseg_encode(a, &rec), 0);
    size_t len = rec.len - OSP_AICSEG_RECORD_HEAD;
    uint8_t frame[OSP_AICSEG_FRAME_SIZE];
    osp_put_le32(frame, (uint32_t)len);
    osp_put_le64(frame + 4, XXH64(rec.data + OSP_AICSEG_RECORD_HEAD, len, 0));
    assert_int_equal(osp_buf_append(out, frame, sizeof frame), 0);
    assert_int_equal(osp_buf_append(out, rec.data + OSP_AICSEG_RECORD_HEAD, len), 0);
    osp_buf_cleanup(&rec);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    osp_aicall a = make_call(0, 0xD0, "t", 1), b;
    osp_buf enc;
    size_t used;
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_aicseg_encode(&a, &enc), 0);
    uint8_t *p = (uint8_t *)enc.data;
    assert_int_equal(osp_aicseg_decode(p, enc.len, &b, &used), 0);
    assert_int_equal(used, enc.len);
    assert_call(&b, &a);
    for (size_t n = 0; n < enc.len; n++) /* in a block, a cut record is damage */
        assert_int_equal(osp_aicseg_decode(p, n, &b, &used), OSP_ECORRUPT);
    p[OSP_AICSEG_RECORD_HEAD + 112] = 99; /* a type past the last */
    assert_int_equal(osp_aicseg_decode(p, enc.len, &b, &used), OSP_ECORRUPT);
    p[0] = 1; /* a length below the fixed part */
    assert_int_equal(osp_aicseg_decode(p, enc.len, &b, &used), OSP_ECORRUPT);
    /* version 1 frames */
    osp_buf_reset(&enc);
    v1_frame(&a, &enc);
    p = (uint8_t *)enc.data;
    assert_int_equal(osp_aicseg_decode_v1(p, enc.len, &b, &used), 0);
    assert_int_equal(used, enc.len);
    assert_call(&b, &a);
    for (size_t n = 0; n < enc.len; n++) /* every prefix is incomplete */
        assert_int_equal(osp_aicseg_decode_v1(p, n, &b, &used), OSP_EAGAIN);
    p[OSP_AICSEG_FRAME_SIZE + 20] ^= 1; /* the checksum no longer holds */
    assert_int_equal(osp_aicseg_decode_v1(p, enc.len, &b, &used), OSP_ECORRUPT);
    /* headers: versions 1 and 2 are read */
    uint8_t h[OSP_AICSEG_HEADER_SIZE];
    uint32_t version;
    osp_aicseg_header(h);
    assert_int_equal(osp_aicseg_check_header(h, sizeof h, &version), 0);
    assert_int_equal(version, 2);
    assert_int_equal(osp_aicseg_check_header(h, sizeof h - 1, &version), OSP_EAGAIN);
    osp_put_le32(h + 8, 1);
    assert_int_equal(osp_aicseg_check_header(h, sizeof h, &version), 0);
    assert_int_equal(version, 1);
    osp_put_le32(h + 8, 3);
    assert_int_equal(osp_aicseg_check_header(h, sizeof h, &version), OSP_ECORRUPT);
    osp_aicseg_header(h);
    h[3] ^= 1;
    assert_int_equal(osp_aicseg_check_header(h, sizeof h, &version), OSP_ECORRUPT);
    osp_buf_cleanup(&enc);
}

/* A block round-trips; a cut one is incomplete, a changed byte or length is damage. */
static void test_block_rejects(void **state)
{
    (void)state;
    osp_aicall calls[3] = {make_call(0, 0xD1, "x", 1), make_call(1, 0xD1, "y", 1),
                           make_call(2, 0xD1, "z", 1)};
    osp_buf blk;
    osp_buf_init(&blk, 0);
    block_of(calls, 3, &blk);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    uint8_t *p = (uint8_t *)blk.data, *raw;
    size_t rawlen, used, at = 0, len;
    assert_int_equal(osp_aicseg_block_unpack(dctx, p, blk.len, &raw, &rawlen, &used), 0);
    assert_int_equal(used, blk.len);
    for (int i = 0; i < 3; i++, at += len) {
        osp_aicall b;
        assert_int_equal(osp_aicseg_decode(raw + at, rawlen - at, &b, &len), 0);
        assert_call(&b, &calls[i]);
    }
    assert_int_equal(at, rawlen);
    osp_free(raw);
    for (size_t n = 0; n < blk.len; n++)
        assert_int_equal(osp_aicseg_block_unpack(dctx, p, n, &raw, &rawlen, &used), OSP_EAGAIN);
    p[blk.len - 3] ^= 0x10;
    assert_int_equal(osp_aicseg_block_unpack(dctx, p, blk.len, &raw, &rawlen, &used), OSP_ECORRUPT);
    p[blk.len - 3] ^= 0x10;
    osp_put_le32(p + 4, OSP_AICSEG_MAX_BLOCK_RAW + 1); /* a raw length past the bound */
    assert_int_equal(osp_aicseg_block_unpack(dctx, p, blk.len, &raw, &rawlen, &used), OSP_ECORRUPT);
    osp_put_le32(p, 0); /* an empty stored block */
    assert_int_equal(osp_aicseg_block_unpack(dctx, p, blk.len, &raw, &rawlen, &used), OSP_ECORRUPT);
    ZSTD_freeDCtx(dctx);
    osp_buf_cleanup(&blk);
}

/* Records of one append spread over blocks of about OSP_AICSEG_BLOCK_TARGET raw bytes,
 * compressed: every text reads back, before and after a reopen. */
static void test_blocks(void **state)
{
    (void)state;
    enum { N = 300, TEXT = 3000 };
    char *dir = osp_test_tmpdir("aicalls");
    char path[1024], *text = malloc(TEXT);
    osp_aicall *calls = calloc(N, sizeof *calls);
    for (int i = 0; i < N; i++) {
        calls[i] = make_call(i, (uint8_t)(i / 10), text, TEXT);
        memset(calls[i].span_id, 0, 8);
        memcpy(calls[i].span_id, &i, sizeof i);
    }
    for (int i = 0; i < TEXT; i++) /* a prompt-like text, repeating */
        text[i] = "You are a helpful assistant. "[i % 29];
    osp_aicalls *s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_append(s, calls, N), 0);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_aicall *got;
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < N / 10; t++) {
            assert_int_equal(select_trace(s, (uint8_t)t, &arena, &got), 10);
            for (int j = 0; j < 10; j++) /* the trace's records, by start */
                assert_call(&got[j], &calls[10 * t + j]);
        }
        osp_aicalls_close(s);
        s = open_dir(dir, 0);
        assert_int_equal(osp_aicalls_count(s), N);
    }
    /* over 900 000 raw bytes in a few blocks, each compressed */
    seg_path(dir, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < N * TEXT / 10);
    osp_arena_cleanup(&arena);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(calls);
    free(text);
    free(dir);
}

/* A version 1 segment (framed records, not compressed) is still read; appends then go to
 * a new segment of the current version. */
static void test_reads_version_1(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("aicalls");
    char path[1024];
    osp_aicall calls[3] = {make_call(0, 0xE0, "first", 5), make_call(1, 0xE0, "second", 6),
                           make_call(2, 0xE1, "third", 5)};
    osp_aicalls *s = open_dir(dir, 0); /* makes the directory */
    osp_aicalls_close(s);
    seg_path(dir, path, sizeof path);
    osp_test_run("mkdir -p \"$(dirname '%s')\"", path);
    osp_buf file;
    osp_buf_init(&file, 0);
    uint8_t h[OSP_AICSEG_HEADER_SIZE];
    osp_aicseg_header(h);
    osp_put_le32(h + 8, 1);
    assert_int_equal(osp_buf_append(&file, h, sizeof h), 0);
    v1_frame(&calls[0], &file);
    v1_frame(&calls[1], &file);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(file.data, 1, file.len, f), file.len);
    fclose(f);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 2);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_aicall *got;
    assert_int_equal(select_trace(s, 0xE0, &arena, &got), 2);
    assert_call(&got[0], &calls[0]);
    assert_call(&got[1], &calls[1]);
    assert_int_equal(osp_aicalls_append(s, calls + 2, 1), 0);
    osp_aicalls_close(s);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 3);
    assert_int_equal(select_trace(s, 0xE1, &arena, &got), 1);
    assert_call(&got[0], &calls[2]);
    assert_int_equal(select_trace(s, 0xE0, &arena, &got), 2);
    assert_call(&got[1], &calls[1]);
    assert_int_equal(quarantined(dir), 0);
    osp_arena_cleanup(&arena);
    osp_buf_cleanup(&file);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupted),      cmocka_unit_test(test_retention),
        cmocka_unit_test(test_decode_rejects), cmocka_unit_test(test_block_rejects),
        cmocka_unit_test(test_blocks),         cmocka_unit_test(test_reads_version_1),
        cmocka_unit_test(test_memory_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
