/* Per-series sample chunk codec (format in README.md beside this file). */
#include "store/tsdb/chunk.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"

/* ---- bit writer: bits go most significant first; out == NULL only counts them ---- */

typedef struct bitw {
    uint8_t *out;   /* destination, or NULL to count only */
    size_t pos;     /* bytes written to out */
    uint64_t acc;   /* pending bits in the low nacc bits */
    unsigned nacc;  /* pending bits, always < 8 between calls */
    uint64_t nbits; /* bits written in total */
} bitw;

static void bw_put(bitw *w, uint64_t v, unsigned n)
{
    assert(n <= 32);
    w->nbits += n;
    if (!w->out || n == 0)
        return;
    w->acc = (w->acc << n) | (v & ((UINT64_C(1) << n) - 1));
    w->nacc += n;
    while (w->nacc >= 8) {
        w->nacc -= 8;
        w->out[w->pos++] = (uint8_t)(w->acc >> w->nacc);
    }
}

static void bw_put64(bitw *w, uint64_t v, unsigned n)
{
    if (n > 32) {
        bw_put(w, v >> 32, n - 32);
        n = 32;
    }
    bw_put(w, v, n);
}

static void bw_flush(bitw *w)
{
    if (w->out && w->nacc)
        w->out[w->pos++] = (uint8_t)(w->acc << (8 - w->nacc));
    w->nacc = 0;
}

/* ---- small helpers ---- */

static unsigned uvarint_len(uint64_t x)
{
    unsigned n = 1;
    while (x >= 0x80) {
        x >>= 7;
        n++;
    }
    return n;
}

static unsigned bitlen(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0;
}

/* True when v round-trips exactly through an int64 in [-2^53, 2^53] (not -0.0, NaN, Inf). */
static bool as_int(double v, int64_t *out)
{
    if (!(v >= -9007199254740992.0 && v <= 9007199254740992.0))
        return false;
    int64_t i = (int64_t)v;
    if ((double)i != v || (i == 0 && signbit(v)))
        return false;
    *out = i;
    return true;
}

/* ---- encoders (shared by size tracking and the final write) ---- */

static void put_tdod(bitw *w, uint64_t dod)
{
    uint64_t z = osp_pb_zigzag_encode((int64_t)dod);
    if (z == 0) {
        bw_put(w, 0, 1);
    } else if (z < (UINT64_C(1) << 7)) {
        bw_put(w, 0x2, 2);
        bw_put(w, z, 7);
    } else if (z < (UINT64_C(1) << 14)) {
        bw_put(w, 0x6, 3);
        bw_put(w, z, 14);
    } else if (z < (UINT64_C(1) << 20)) {
        bw_put(w, 0xe, 4);
        bw_put(w, z, 20);
    } else {
        bw_put(w, 0xf, 4);
        bw_put64(w, z, 64);
    }
}

static void put_xor(osp__chunk_venc *e, bitw *w, double v, bool first)
{
    uint64_t b = osp_pb_double_bits(v);
    if (first) {
        bw_put64(w, b, 64);
        e->prev = b;
        return;
    }
    uint64_t x = b ^ e->prev;
    e->prev = b;
    if (x == 0) {
        bw_put(w, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31)
        lead = 31;
    if (e->lead != 0xff && lead >= e->lead && trail >= e->trail) {
        bw_put(w, 0x2, 2);
        bw_put64(w, x >> e->trail, 64u - e->lead - e->trail);
        return;
    }
    unsigned sig = 64 - lead - trail;
    bw_put(w, 0x3, 2);
    bw_put(w, lead, 5);
    bw_put(w, sig & 63, 6); /* 64 is written as 0 */
    bw_put64(w, x >> trail, sig);
    e->lead = (uint8_t)lead;
    e->trail = (uint8_t)trail;
}

static void put_int(osp__chunk_venc *e, bitw *w, double v)
{
    int64_t i;
    if (!as_int(v, &i)) {
        bw_put(w, 0x1f, 5);
        bw_put64(w, osp_pb_double_bits(v), 64);
        return;
    }
    uint64_t u = (uint64_t)i, x;
    if (e->nint == 0) {
        x = osp_pb_zigzag_encode((int64_t)u);
    } else if (e->nint == 1) {
        e->dprev = u - e->prev;
        x = osp_pb_zigzag_encode((int64_t)e->dprev);
    } else {
        uint64_t d = u - e->prev;
        x = osp_pb_zigzag_encode((int64_t)(d - e->dprev));
        e->dprev = d;
    }
    e->prev = u;
    e->nint++;
    if (x == 0) {
        bw_put(w, 0, 1);
    } else if (x < (UINT64_C(1) << 7)) {
        bw_put(w, 0x2, 2);
        bw_put(w, x, 7);
    } else if (x < (UINT64_C(1) << 14)) {
        bw_put(w, 0x6, 3);
        bw_put(w, x, 14);
    } else if (x < (UINT64_C(1) << 21)) {
        bw_put(w, 0xe, 4);
        bw_put(w, x, 21);
    } else {
        unsigned n = bitlen(x); /* < 64: values are within 2^53, so dod within 2^55 */
        bw_put(w, 0x1e, 5);
        bw_put(w, n, 6);
        bw_put64(w, x, n);
    }
}

static void put_value(osp__chunk_venc *e, bitw *w, int enc, double v, bool first)
{
    if (enc == OSP_CHUNK_ENC_XOR)
        put_xor(e, w, v, first);
    else
        put_int(e, w, v);
}

/* ---- appender ---- */

static void venc_init(osp__chunk_venc *e)
{
    memset(e, 0, sizeof *e);
    e->lead = 0xff;
}

void osp_chunk_appender_init(osp_chunk_appender *a, uint32_t max_samples, size_t max_bytes)
{
    a->n = 0;
    a->max_samples = max_samples == 0 || max_samples > OSP_CHUNK_MAX_SAMPLES ? OSP_CHUNK_MAX_SAMPLES
                                                                             : max_samples;
    a->max_bytes = max_bytes == 0 ? OSP_CHUNK_DEFAULT_BYTES : max_bytes;
    if (a->max_bytes < OSP_CHUNK_MIN_BYTES)
        a->max_bytes = OSP_CHUNK_MIN_BYTES;
    a->dprev = 0;
    venc_init(&a->enc[0]);
    venc_init(&a->enc[1]);
}

static size_t header_len(uint32_t n, int64_t t0, uint64_t d1)
{
    size_t len = 1 + uvarint_len(n);
    if (n >= 1)
        len += uvarint_len(osp_pb_zigzag_encode(t0));
    if (n >= 2)
        len += uvarint_len(d1);
    return len;
}

static size_t size_with(const osp_chunk_appender *a, uint32_t n, uint64_t bits, int64_t t1)
{
    int64_t t0 = a->n ? a->a[0].t_ms : t1;
    uint64_t d1 = n >= 2 ? (uint64_t)(a->n >= 2 ? a->a[1].t_ms : t1) - (uint64_t)t0 : 0;
    return header_len(n, t0, d1) + (size_t)((bits + 7) / 8);
}

static int best_enc(const osp_chunk_appender *a)
{
    return a->enc[OSP_CHUNK_ENC_INT].bits < a->enc[OSP_CHUNK_ENC_XOR].bits ? OSP_CHUNK_ENC_INT
                                                                           : OSP_CHUNK_ENC_XOR;
}

int osp_chunk_append(osp_chunk_appender *a, int64_t t_ms, double v)
{
    if (a->n && t_ms <= a->a[a->n - 1].t_ms)
        return OSP_EINVAL;
    if (a->n >= a->max_samples)
        return OSP_ETOOBIG;
    bitw tw = {0};
    uint64_t d = 0;
    if (a->n >= 1)
        d = (uint64_t)t_ms - (uint64_t)a->a[a->n - 1].t_ms;
    if (a->n >= 2)
        put_tdod(&tw, d - a->dprev);
    osp__chunk_venc e[2] = {a->enc[0], a->enc[1]};
    size_t best = SIZE_MAX;
    for (int k = 0; k < 2; k++) {
        bitw vw = {0};
        put_value(&e[k], &vw, k, v, a->n == 0);
        e[k].bits += tw.nbits + vw.nbits;
        size_t sz = size_with(a, a->n + 1, e[k].bits, t_ms);
        if (sz < best)
            best = sz;
    }
    if (best > a->max_bytes)
        return OSP_ETOOBIG;
    a->enc[0] = e[0];
    a->enc[1] = e[1];
    a->dprev = d;
    a->a[a->n++] = (osp_sample){t_ms, v};
    return 0;
}

size_t osp_chunk_appender_size(const osp_chunk_appender *a)
{
    return size_with(a, a->n, a->enc[best_enc(a)].bits, 0);
}

int osp_chunk_appender_finish(osp_chunk_appender *a, osp_buf *out)
{
    int enc = best_enc(a);
    size_t total = osp_chunk_appender_size(a);
    int rc = osp_buf_reserve(out, total);
    if (rc)
        return rc;
    uint8_t *p = (uint8_t *)out->data + out->len;
    size_t h = 0;
    p[h++] = (uint8_t)enc;
    h += osp_pb_encode_varint(p + h, a->n);
    if (a->n >= 1)
        h += osp_pb_encode_varint(p + h, osp_pb_zigzag_encode(a->a[0].t_ms));
    if (a->n >= 2)
        h += osp_pb_encode_varint(p + h, (uint64_t)a->a[1].t_ms - (uint64_t)a->a[0].t_ms);
    bitw w = {.out = p + h};
    osp__chunk_venc e;
    venc_init(&e);
    uint64_t dprev = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        if (i >= 1) {
            uint64_t d = (uint64_t)a->a[i].t_ms - (uint64_t)a->a[i - 1].t_ms;
            if (i >= 2)
                put_tdod(&w, d - dprev);
            dprev = d;
        }
        put_value(&e, &w, enc, a->a[i].v, i == 0);
    }
    bw_flush(&w);
    assert(h + w.pos == total);
    out->len += total;
    osp_chunk_appender_init(a, a->max_samples, a->max_bytes);
    return 0;
}

/* ---- iterator ---- */

/* The decoder's helpers are inlined into one loop so that a batch read
 * (osp_chunk_iter_read) keeps the iterator's state in registers. */
#define DECODE_INLINE static inline __attribute__((always_inline))

DECODE_INLINE void corrupt(osp_chunk_iter *it)
{
    it->err = OSP_ECORRUPT;
}

/* Loads whole bytes into the bit buffer until it holds more than 56 bits or the chunk
 * ends. */
DECODE_INLINE void refill(osp_chunk_iter *it)
{
    if (it->pos + 8 <= it->n) { /* whole bytes that fit, from one 64-bit load */
        unsigned take = (64 - it->nacc) / 8;
        uint64_t w;
        memcpy(&w, it->p + it->pos, 8);
        w = __builtin_bswap64(w);
        if (take < 8)
            w &= ~0ull << (64 - 8 * take);
        it->acc |= w >> it->nacc;
        it->nacc += 8 * take;
        it->pos += take;
        return;
    }
    while (it->nacc <= 56 && it->pos < it->n) {
        it->acc |= (uint64_t)it->p[it->pos++] << (56 - it->nacc);
        it->nacc += 8;
    }
}

/* Reads n <= 32 bits; 0 and OSP_ECORRUPT past the end. */
DECODE_INLINE uint64_t rd(osp_chunk_iter *it, unsigned n)
{
    if (n == 0)
        return 0;
    if (__builtin_expect(it->nacc < n, 0)) {
        refill(it);
        if (it->nacc < n) {
            corrupt(it);
            return 0;
        }
    }
    uint64_t v = it->acc >> (64 - n);
    it->acc <<= n;
    it->nacc -= n;
    return v;
}

DECODE_INLINE uint64_t rd64(osp_chunk_iter *it, unsigned n)
{
    if (n <= 32)
        return rd(it, n);
    uint64_t hi = rd(it, n - 32);
    return (hi << 32) | rd(it, 32);
}

/* Reads a unary prefix of up to max (<= 8) bits: the number of 1 bits before a 0, or max
 * when max 1 bits come first (no 0 follows then). One step instead of a read per bit. */
DECODE_INLINE unsigned rd_prefix(osp_chunk_iter *it, unsigned max)
{
    if (__builtin_expect(it->nacc < max, 0))
        refill(it);
    /* Bits past nacc are 0 in acc, so the count stops there at the latest. */
    unsigned ones = (unsigned)__builtin_clzll(~it->acc | (1ull << (63 - max)));
    unsigned used = ones < max ? ones + 1 : max;
    if (used > it->nacc) {
        corrupt(it);
        return 0;
    }
    it->acc <<= used;
    it->nacc -= used;
    return ones;
}

static bool get_uvarint(osp_chunk_iter *it, uint64_t *out)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (it->pos >= it->n)
            return false;
        uint8_t b = it->p[it->pos++];
        if (shift == 63 && b > 1)
            return false;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = x;
            return true;
        }
    }
    return false;
}

/* After the last sample only zero padding bits of the final byte may remain. */
DECODE_INLINE void check_end(osp_chunk_iter *it)
{
    if (it->pos != it->n || it->nacc >= 8 || it->acc != 0)
        corrupt(it);
}

void osp_chunk_iter_init(osp_chunk_iter *it, const void *p, size_t n)
{
    memset(it, 0, sizeof *it);
    it->p = p;
    it->n = n;
    venc_init(&it->v);
    uint64_t count = 0, t0 = 0, d1 = 0;
    if (n < 1 || it->p[0] > OSP_CHUNK_ENC_INT) {
        corrupt(it);
        return;
    }
    it->enc = it->p[0];
    it->pos = 1;
    if (!get_uvarint(it, &count) || count > OSP_CHUNK_MAX_SAMPLES) {
        corrupt(it);
        return;
    }
    it->count = (uint32_t)count;
    if (count >= 1 && !get_uvarint(it, &t0))
        corrupt(it);
    if (count >= 2 && (!get_uvarint(it, &d1) || d1 == 0))
        corrupt(it);
    it->t = (uint64_t)osp_pb_zigzag_decode(t0);
    it->d1 = d1;
    if (count == 0 && !it->err)
        check_end(it);
}

DECODE_INLINE double get_xor(osp_chunk_iter *it)
{
    osp__chunk_venc *e = &it->v;
    if (it->i == 0) {
        e->prev = rd64(it, 64);
        return osp_pb_as_double(e->prev);
    }
    unsigned ctl = rd_prefix(it, 2); /* 0: same value, 10: same window, 11: new window */
    if (ctl == 0)
        return osp_pb_as_double(e->prev);
    if (ctl == 1) {
        if (e->lead == 0xff) {
            corrupt(it);
            return 0;
        }
    } else {
        unsigned lead = (unsigned)rd(it, 5), sig = (unsigned)rd(it, 6);
        if (sig == 0)
            sig = 64;
        if (lead + sig > 64) {
            corrupt(it);
            return 0;
        }
        e->lead = (uint8_t)lead;
        e->trail = (uint8_t)(64 - lead - sig);
    }
    e->prev ^= rd64(it, 64u - e->lead - e->trail) << e->trail;
    return osp_pb_as_double(e->prev);
}

DECODE_INLINE double get_int(osp_chunk_iter *it)
{
    osp__chunk_venc *e = &it->v;
    uint64_t x;
    switch (rd_prefix(it, 5)) {
    case 0:
        x = 0;
        break;
    case 1:
        x = rd(it, 7);
        break;
    case 2:
        x = rd(it, 14);
        break;
    case 3:
        x = rd(it, 21);
        break;
    case 4:
        x = rd64(it, (unsigned)rd(it, 6));
        break;
    default:
        return osp_pb_as_double(rd64(it, 64)); /* escaped non-integral value */
    }
    uint64_t u;
    if (e->nint == 0) {
        u = (uint64_t)osp_pb_zigzag_decode(x);
    } else if (e->nint == 1) {
        e->dprev = (uint64_t)osp_pb_zigzag_decode(x);
        u = e->prev + e->dprev;
    } else {
        e->dprev += (uint64_t)osp_pb_zigzag_decode(x);
        u = e->prev + e->dprev;
    }
    e->prev = u;
    e->nint++;
    return (double)(int64_t)u;
}

DECODE_INLINE bool next_sample(osp_chunk_iter *it, osp_sample *out)
{
    if (it->err || it->i >= it->count)
        return false;
    uint64_t t = it->t;
    if (it->i == 1) {
        it->d = it->d1;
        t += it->d;
    } else if (it->i >= 2) {
        static const unsigned width[5] = {0, 7, 14, 20, 64};
        uint64_t z = rd64(it, width[rd_prefix(it, 4)]);
        it->d += (uint64_t)osp_pb_zigzag_decode(z);
        t += it->d;
    }
    if (it->i >= 1 && (int64_t)t <= (int64_t)it->t)
        corrupt(it);
    double v = it->enc == OSP_CHUNK_ENC_XOR ? get_xor(it) : get_int(it);
    if (it->err)
        return false;
    it->t = t;
    it->i++;
    if (it->i == it->count) {
        check_end(it);
        if (it->err)
            return false;
    }
    out->t_ms = (int64_t)t;
    out->v = v;
    return true;
}

bool osp_chunk_iter_next(osp_chunk_iter *it, osp_sample *out)
{
    return next_sample(it, out);
}

size_t osp_chunk_iter_read(osp_chunk_iter *it, osp_sample *out, size_t max)
{
    osp_chunk_iter c = *it; /* a local copy the compiler can keep in registers */
    size_t k = 0;
    while (k < max && next_sample(&c, &out[k]))
        k++;
    *it = c;
    return k;
}

/* ---- incremental XOR stream ---- */

void osp_chunk_stream_init(osp_chunk_stream *s)
{
    memset(s, 0, sizeof *s);
    s->lead = 0xff;
}

void osp_chunk_stream_cleanup(osp_chunk_stream *s)
{
    osp_free(s->buf);
    osp_chunk_stream_init(s);
}

/* Most bits one sample adds: a 68-bit timestamp escape plus a 77-bit XOR value. */
#define STREAM_MAX_SAMPLE_BITS 145
/* Buffer capacities: powers of two up to a size that holds any full chunk plus one more
 * sample's bits, so a chunk's buffer is resized a handful of times, not per sample. */
#define STREAM_MIN_CAP 32
#define STREAM_MAX_CAP (OSP_CHUNK_DEFAULT_BYTES + (STREAM_MAX_SAMPLE_BITS + 7) / 8 + 1)

int osp_chunk_stream_append(osp_chunk_stream *s, int64_t t_ms, double v)
{
    if (s->n && t_ms <= s->tlast)
        return OSP_EINVAL;
    if (s->n >= OSP_CHUNK_MAX_SAMPLES)
        return OSP_ETOOBIG;
    size_t need = (s->nbits + STREAM_MAX_SAMPLE_BITS + 7) / 8;
    if (need > s->cap) {
        size_t cap = s->cap ? s->cap : STREAM_MIN_CAP;
        while (cap < need)
            cap *= 2;
        if (cap > STREAM_MAX_CAP)
            cap = STREAM_MAX_CAP;
        assert(cap >= need);
        uint8_t *nbuf = osp_realloc(s->buf, cap);
        if (!nbuf)
            return OSP_ENOMEM;
        memset(nbuf + s->cap, 0, cap - s->cap);
        s->buf = nbuf;
        s->cap = (uint16_t)cap;
    }
    /* Write in place: the writer starts at the partial last byte, holding its bits. */
    uint32_t byte = s->nbits / 8;
    uint8_t keep = s->buf[byte];
    bitw w = {.out = s->buf + byte, .nacc = s->nbits & 7};
    w.acc = (uint64_t)keep >> (8 - w.nacc);
    uint64_t d = s->n ? (uint64_t)t_ms - (uint64_t)s->tlast : 0;
    if (s->n >= 2)
        put_tdod(&w, d - s->dprev);
    osp__chunk_venc e = {.prev = s->vprev, .lead = s->lead, .trail = s->trail};
    put_xor(&e, &w, v, s->n == 0);
    uint64_t total = s->nbits + w.nbits;
    bw_flush(&w);
    int64_t t0 = s->n ? s->t0 : t_ms;
    uint64_t d1 = s->n == 1 ? d : s->d1;
    if (header_len(s->n + 1u, t0, d1) + (total + 7) / 8 > OSP_CHUNK_DEFAULT_BYTES) {
        memset(s->buf + byte, 0, w.pos); /* back to zero past nbits */
        s->buf[byte] = keep;
        return OSP_ETOOBIG;
    }
    s->nbits = (uint32_t)total;
    if (s->n == 0)
        s->t0 = t_ms;
    s->d1 = d1;
    if (s->n >= 1)
        s->dprev = d;
    s->tlast = t_ms;
    s->vprev = e.prev;
    s->lead = e.lead;
    s->trail = e.trail;
    s->n++;
    return 0;
}

void osp_chunk_iter_init_stream(osp_chunk_iter *it, const osp_chunk_stream *s)
{
    memset(it, 0, sizeof *it);
    venc_init(&it->v);
    it->p = s->buf;
    it->n = (s->nbits + 7) / 8;
    it->enc = OSP_CHUNK_ENC_XOR;
    it->count = s->n;
    it->t = (uint64_t)s->t0;
    it->d1 = s->d1;
}

int osp_chunk_stream_finish(osp_chunk_stream *s, osp_buf *out)
{
    osp_chunk_appender a;
    osp_chunk_iter it;
    osp_sample smp;
    osp_chunk_appender_init(&a, 0, 0);
    osp_chunk_iter_init_stream(&it, s);
    while (osp_chunk_iter_next(&it, &smp)) {
        int rc = osp_chunk_append(&a, smp.t_ms, smp.v);
        assert(rc == 0);
        (void)rc;
    }
    assert(osp_chunk_iter_err(&it) == 0);
    int rc = osp_chunk_appender_finish(&a, out);
    if (rc == 0)
        osp_chunk_stream_cleanup(s);
    return rc;
}
