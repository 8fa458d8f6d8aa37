/* A tiny protobuf builder over one global buffer, for tests that hand-encode messages:
 * O(n) opens nested field n, C() closes it, the others append one field. */
#ifndef OSP_TEST_PBBUILD_H
#define OSP_TEST_PBBUILD_H

#include "testutil.h"

#include "core/buf.h"
#include "core/pb.h"

static osp_buf W;
static size_t stk[256];
static int sp;

static inline void O(uint32_t num) /* open a nested message */
{
    assert_true(sp < 256);
    assert_int_equal(osp_pb_begin(&W, num, &stk[sp++]), 0);
}
static inline void C(void) /* close it */
{
    assert_int_equal(osp_pb_end(&W, stk[--sp]), 0);
}
static inline void S(uint32_t num, const char *s)
{
    assert_int_equal(osp_pb_put_str(&W, num, osp_str_c(s)), 0);
}
static inline void B(uint32_t num, const void *p, size_t n)
{
    assert_int_equal(osp_pb_put_bytes(&W, num, p, n), 0);
}
static inline void U(uint32_t num, uint64_t v)
{
    assert_int_equal(osp_pb_put_uint(&W, num, v), 0);
}
static inline void X64(uint32_t num, uint64_t v)
{
    assert_int_equal(osp_pb_put_fixed64(&W, num, v), 0);
}
static inline void X32(uint32_t num, uint32_t v)
{
    assert_int_equal(osp_pb_put_fixed32(&W, num, v), 0);
}
static inline void D(uint32_t num, double v)
{
    assert_int_equal(osp_pb_put_double(&W, num, v), 0);
}
static inline void RAW(const char *p, size_t n)
{
    assert_int_equal(osp_buf_append(&W, p, n), 0);
}

/* An OTLP KeyValue as field f: key k, string value v. */
static inline void kv_s(uint32_t f, const char *k, const char *v)
{
    O(f), S(1, k), O(2), S(1, v), C(), C();
}

static inline void begin(void) /* start a new message in W */
{
    osp_buf_init(&W, 0);
    sp = 0;
}
static inline osp_str body(void) /* the finished message (every nested one closed) */
{
    assert_int_equal(sp, 0);
    return osp_buf_str(&W);
}

#endif
