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

/* Powers of ten for DEC scales. */
static const double pow10_of[OSP_CHUNK_MAX_SCALE + 1] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};

/* True when v is exactly m / 10^scale for an int64 m within 2^53 (as the value a
 * text exposition like "12.34" parses to); m in *out. */
static bool as_dec(double v, unsigned scale, int64_t *out)
{
    double x = v * pow10_of[scale];
    if (!(x >= -9007199254740992.0 && x <= 9007199254740992.0))
        return false;
    int64_t m = (int64_t)nearbyint(x);
    if ((double)m / pow10_of[scale] != v || (m == 0 && signbit(v)))
        return false;
    *out = m;
    return true;
}

#define NO_SCALE 0xff /* DEC's scale in an appender once a value fits no scale */

/* The fewest decimal digits (1..OSP_CHUNK_MAX_SCALE) that hold v exactly; NO_SCALE when
 * none does; 0 when v tells nothing (integral, NaN, infinite). */
static unsigned dec_scale(double v)
{
    int64_t m;
    if (as_int(v, &m) || !isfinite(v))
        return 0;
    for (unsigned s = 1; s <= OSP_CHUNK_MAX_SCALE; s++)
        if (as_dec(v, s, &m))
            return s;
    return NO_SCALE;
}

/* ---- encoders (shared by size tracking and the final write) ---- */

/* Variable-length integer buckets: payload bits after a prefix of j + 1 ones and a zero
 * for bucket j. Timestamps escape to 64 bits after n + 1 ones; integer values (INT, DEC)
 * have n + 1 ones and a zero for a 6-bit length L and L bits, and n + 2 ones for a raw
 * double. */
typedef struct buckets {
    unsigned n;       /* buckets */
    unsigned bits[5]; /* payload bits per bucket */
} buckets;

static const buckets TS1 = {3, {7, 14, 20}};         /* timestamps, first set */
static const buckets TS2 = {4, {4, 8, 14, 20}};      /* timestamps, OSP_CHUNK_V2 */
static const buckets INT1 = {3, {7, 14, 21}};        /* integers, first set */
static const buckets INT2 = {5, {3, 6, 10, 14, 21}}; /* integers, OSP_CHUNK_V2 */

/* Writes z in the first bucket of tb that holds it; 0 when none does. */
static bool put_bucketed(bitw *w, uint64_t z, const buckets *tb)
{
    if (z == 0) {
        bw_put(w, 0, 1);
        return true;
    }
    for (unsigned j = 0; j < tb->n; j++) {
        if (z < (UINT64_C(1) << tb->bits[j])) {
            bw_put(w, (UINT64_C(1) << (j + 2)) - 2, j + 2);
            bw_put(w, z, tb->bits[j]);
            return true;
        }
    }
    return false;
}

static void put_tdod(bitw *w, uint64_t dod, const buckets *tb)
{
    uint64_t z = osp_pb_zigzag_encode((int64_t)dod);
    if (put_bucketed(w, z, tb))
        return;
    bw_put(w, (UINT64_C(1) << (tb->n + 1)) - 1, tb->n + 1);
    bw_put64(w, z, 64);
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

/* INT and DEC: the integer i (when ok) in the integer state, else v's raw bits; the
 * OSP_CHUNK_V2 buckets (only the appender writes INT and DEC). */
static void put_intval(osp__chunk_venc *e, bitw *w, bool ok, int64_t i, double v)
{
    const buckets *tb = &INT2;
    if (!ok) {
        bw_put(w, (UINT64_C(1) << (tb->n + 2)) - 1, tb->n + 2);
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
    if (put_bucketed(w, x, tb))
        return;
    unsigned n = bitlen(x); /* < 64: values are within 2^53, so dod within 2^55 */
    bw_put(w, (UINT64_C(1) << (tb->n + 2)) - 2, tb->n + 2);
    bw_put(w, n, 6);
    bw_put64(w, x, n);
}

static void put_value(osp__chunk_venc *e, bitw *w, int enc, double v, bool first)
{
    int64_t i = 0;
    if (enc == OSP_CHUNK_ENC_XOR) {
        put_xor(e, w, v, first);
        return;
    }
    bool ok = enc == OSP_CHUNK_ENC_INT ? as_int(v, &i) : as_dec(v, e->scale, &i);
    put_intval(e, w, ok, i, v);
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
    for (int k = 0; k < 3; k++)
        venc_init(&a->enc[k]);
}

/* Header bytes: encoding, DEC's scale, count, first timestamp, first delta. */
static size_t header_len(int enc, uint32_t n, int64_t t0, uint64_t d1)
{
    size_t len = 1 + (enc == OSP_CHUNK_ENC_DEC) + uvarint_len(n);
    if (n >= 1)
        len += uvarint_len(osp_pb_zigzag_encode(t0));
    if (n >= 2)
        len += uvarint_len(d1);
    return len;
}

static size_t size_with(const osp_chunk_appender *a, int enc, uint32_t n, uint64_t bits, int64_t t1)
{
    int64_t t0 = a->n ? a->a[0].t_ms : t1;
    uint64_t d1 = n >= 2 ? (uint64_t)(a->n >= 2 ? a->a[1].t_ms : t1) - (uint64_t)t0 : 0;
    return header_len(enc, n, t0, d1) + (size_t)((bits + 7) / 8);
}

/* Whether the encoder of enc is in use (DEC only once its scale is known). */
static bool enc_live(const osp_chunk_appender *a, int enc)
{
    unsigned scale = a->enc[OSP_CHUNK_ENC_DEC].scale;
    return enc != OSP_CHUNK_ENC_DEC || (scale > 0 && scale != NO_SCALE);
}

/* The encoding with the smallest chunk; ties go to the lower number (XOR first). */
static int best_enc(const osp_chunk_appender *a)
{
    int best = OSP_CHUNK_ENC_XOR;
    for (int k = 1; k < 3; k++)
        if (enc_live(a, k) && size_with(a, k, a->n, a->enc[k].bits, 0) <
                                  size_with(a, best, a->n, a->enc[best].bits, 0))
            best = k;
    return best;
}

/* Bits of the timestamp of sample i (i >= 2), whose delta is d, after delta dprev. */
static uint64_t tdod_bits(uint64_t d, uint64_t dprev)
{
    bitw tw = {0};
    put_tdod(&tw, d - dprev, &TS2);
    return tw.nbits;
}

/* Starts DEC at scale for the samples appended so far: its encoder as if it had run from
 * the first sample. */
static void start_dec(osp_chunk_appender *a, unsigned scale)
{
    osp__chunk_venc *e = &a->enc[OSP_CHUNK_ENC_DEC];
    venc_init(e);
    e->scale = (uint8_t)scale;
    uint64_t dprev = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        bitw vw = {0};
        if (i >= 1) {
            uint64_t d = (uint64_t)a->a[i].t_ms - (uint64_t)a->a[i - 1].t_ms;
            if (i >= 2)
                e->bits += tdod_bits(d, dprev);
            dprev = d;
        }
        put_value(e, &vw, OSP_CHUNK_ENC_DEC, a->a[i].v, i == 0);
        e->bits += vw.nbits;
    }
}

int osp_chunk_append(osp_chunk_appender *a, int64_t t_ms, double v)
{
    if (a->n && t_ms <= a->a[a->n - 1].t_ms)
        return OSP_EINVAL;
    if (a->n >= a->max_samples)
        return OSP_ETOOBIG;
    uint64_t d = 0, tbits = 0;
    if (a->n >= 1)
        d = (uint64_t)t_ms - (uint64_t)a->a[a->n - 1].t_ms;
    if (a->n >= 2)
        tbits = tdod_bits(d, a->dprev);
    osp__chunk_venc e[3] = {a->enc[0], a->enc[1], a->enc[2]};
    unsigned scale = 0;
    if (e[OSP_CHUNK_ENC_DEC].scale == 0 && (scale = dec_scale(v)) > 0) {
        /* the first value with decimals picks DEC's scale, or rules DEC out */
        if (scale != NO_SCALE)
            start_dec(a, scale);
        e[OSP_CHUNK_ENC_DEC] = a->enc[OSP_CHUNK_ENC_DEC];
        e[OSP_CHUNK_ENC_DEC].scale = (uint8_t)scale;
    }
    size_t best = SIZE_MAX;
    for (int k = 0; k < 3; k++) {
        if (k == OSP_CHUNK_ENC_DEC && (e[k].scale == 0 || e[k].scale == NO_SCALE))
            continue;
        bitw vw = {0};
        put_value(&e[k], &vw, k, v, a->n == 0);
        e[k].bits += tbits + vw.nbits;
        size_t sz = size_with(a, k, a->n + 1, e[k].bits, t_ms);
        if (sz < best)
            best = sz;
    }
    if (best > a->max_bytes) {
        if (scale)
            venc_init(&a->enc[OSP_CHUNK_ENC_DEC]); /* unchanged on error */
        return OSP_ETOOBIG;
    }
    for (int k = 0; k < 3; k++)
        a->enc[k] = e[k];
    a->dprev = d;
    a->a[a->n++] = (osp_sample){t_ms, v};
    return 0;
}

size_t osp_chunk_appender_size(const osp_chunk_appender *a)
{
    int enc = best_enc(a);
    return size_with(a, enc, a->n, a->enc[enc].bits, 0);
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
    osp__chunk_venc e;
    venc_init(&e);
    e.scale = a->enc[enc].scale;
    p[h++] = (uint8_t)(enc | OSP_CHUNK_V2);
    if (enc == OSP_CHUNK_ENC_DEC)
        p[h++] = e.scale;
    h += osp_pb_encode_varint(p + h, a->n);
    if (a->n >= 1)
        h += osp_pb_encode_varint(p + h, osp_pb_zigzag_encode(a->a[0].t_ms));
    if (a->n >= 2)
        h += osp_pb_encode_varint(p + h, (uint64_t)a->a[1].t_ms - (uint64_t)a->a[0].t_ms);
    bitw w = {.out = p + h};
    uint64_t dprev = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        if (i >= 1) {
            uint64_t d = (uint64_t)a->a[i].t_ms - (uint64_t)a->a[i - 1].t_ms;
            if (i >= 2)
                put_tdod(&w, d - dprev, &TS2);
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
    /* 0, 1: XOR, INT with the first buckets; 4, 5, 6: XOR, INT, DEC with OSP_CHUNK_V2 */
    unsigned b0 = n >= 1 ? it->p[0] : 0xff;
    if (n < 1 || (b0 > OSP_CHUNK_ENC_INT && (b0 & ~3u) != OSP_CHUNK_V2) || (b0 & 3) == 3) {
        corrupt(it);
        return;
    }
    it->enc = (uint8_t)(b0 & 3);
    it->v2 = (b0 & OSP_CHUNK_V2) != 0;
    it->pos = 1;
    if (it->enc == OSP_CHUNK_ENC_DEC) {
        if (n < 2 || it->p[1] < 1 || it->p[1] > OSP_CHUNK_MAX_SCALE) {
            corrupt(it);
            return;
        }
        it->v.scale = it->p[1];
        it->pos = 2;
    }
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

/* INT and DEC: the next integer, or (false) an escaped value's raw double in *raw. */
DECODE_INLINE bool get_intval(osp_chunk_iter *it, int64_t *out, double *raw)
{
    osp__chunk_venc *e = &it->v;
    const buckets *tb = it->v2 ? &INT2 : &INT1;
    unsigned j = rd_prefix(it, tb->n + 2);
    uint64_t x;
    if (j == 0) {
        x = 0;
    } else if (j <= tb->n) {
        x = rd(it, tb->bits[j - 1]);
    } else if (j == tb->n + 1) {
        x = rd64(it, (unsigned)rd(it, 6));
    } else {
        *raw = osp_pb_as_double(rd64(it, 64)); /* escaped value */
        return false;
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
    *out = (int64_t)u;
    return true;
}

DECODE_INLINE double get_value(osp_chunk_iter *it)
{
    int64_t i;
    double raw;
    if (it->enc == OSP_CHUNK_ENC_XOR)
        return get_xor(it);
    if (!get_intval(it, &i, &raw))
        return raw;
    return it->enc == OSP_CHUNK_ENC_INT ? (double)i : (double)i / pow10_of[it->v.scale];
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
        const buckets *tb = it->v2 ? &TS2 : &TS1;
        unsigned j = rd_prefix(it, tb->n + 1); /* 0: dod 0; n + 1: the escape */
        uint64_t z = j == 0 ? 0 : rd64(it, j <= tb->n ? tb->bits[j - 1] : 64);
        it->d += (uint64_t)osp_pb_zigzag_decode(z);
        t += it->d;
    }
    if (it->i >= 1 && (int64_t)t <= (int64_t)it->t)
        corrupt(it);
    double v = get_value(it);
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
        put_tdod(&w, d - s->dprev, &TS1);
    osp__chunk_venc e = {.prev = s->vprev, .lead = s->lead, .trail = s->trail};
    put_xor(&e, &w, v, s->n == 0);
    uint64_t total = s->nbits + w.nbits;
    bw_flush(&w);
    int64_t t0 = s->n ? s->t0 : t_ms;
    uint64_t d1 = s->n == 1 ? d : s->d1;
    if (header_len(OSP_CHUNK_ENC_XOR, s->n + 1u, t0, d1) + (total + 7) / 8 >
        OSP_CHUNK_DEFAULT_BYTES) {
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
    /* V2's timestamp buckets past the first cost at most a bit per sample more than the
     * stream's, so everything the stream holds fits in this much. */
    osp_chunk_appender_init(&a, 0, OSP_CHUNK_DEFAULT_BYTES + OSP_CHUNK_MAX_SAMPLES / 8 + 1);
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
