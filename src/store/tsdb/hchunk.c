/* Histogram chunks: a count byte, then per sample a delta timestamp, the record length and
 * the osp_hist_encode record. Format: README.md. */
#include "store/tsdb/hchunk.h"

#include "core/err.h"
#include "core/pb.h"

void osp_hchunk_writer_init(osp_hchunk_writer *w)
{
    osp_buf_init(&w->b, 0);
    w->tlast = 0;
}

void osp_hchunk_writer_cleanup(osp_hchunk_writer *w)
{
    osp_buf_cleanup(&w->b);
}

int osp_hchunk_writer_append(osp_hchunk_writer *w, int64_t t_ms, const void *rec, size_t len)
{
    uint8_t hdr[21];
    uint32_t n = osp_hchunk_writer_count(w);
    size_t k = 0;
    int rc;
    if (n && t_ms <= w->tlast)
        return OSP_EINVAL;
    if (n >= OSP_HCHUNK_MAX_SAMPLES || w->b.len >= OSP_HCHUNK_BYTES)
        return OSP_ETOOBIG;
    if (n == 0) {
        hdr[k++] = 0; /* the count, set below */
        k += osp_pb_encode_varint(hdr + k, osp_pb_zigzag_encode(t_ms));
    } else {
        k += osp_pb_encode_varint(hdr + k, (uint64_t)t_ms - (uint64_t)w->tlast);
    }
    k += osp_pb_encode_varint(hdr + k, len);
    if ((rc = osp_buf_reserve(&w->b, k + len)) != 0)
        return rc;
    osp_buf_append(&w->b, hdr, k); /* cannot fail: reserved */
    osp_buf_append(&w->b, rec, len);
    w->b.data[0] = (char)(n + 1);
    w->tlast = t_ms;
    return 0;
}

void osp_hchunk_iter_init(osp_hchunk_iter *it, const void *p, size_t n)
{
    it->p = p;
    it->end = n ? it->p + n : it->p; /* p may be NULL when n is 0 */
    it->i = 0;
    it->t = 0;
    it->err = 0;
    it->count = n ? *it->p++ : 0;
    if (it->count == 0 || it->count > OSP_HCHUNK_MAX_SAMPLES)
        it->err = OSP_ECORRUPT;
}

bool osp_hchunk_iter_next(osp_hchunk_iter *it, int64_t *t_ms, const uint8_t **rec, size_t *len)
{
    uint64_t d, n;
    if (it->err)
        return false;
    if (it->i == it->count) {
        if (it->p != it->end)
            it->err = OSP_ECORRUPT;
        return false;
    }
    osp_pb_reader r = osp_pb_reader_make(it->p, (size_t)(it->end - it->p));
    if (osp_pb_read_varint(&r, &d))
        goto corrupt;
    if (it->i == 0) {
        it->t = osp_pb_zigzag_decode(d);
    } else {
        /* strictly ascending, and t + d stays within int64 */
        if (d == 0 || d > (uint64_t)INT64_MAX - (uint64_t)it->t)
            goto corrupt;
        it->t = (int64_t)((uint64_t)it->t + d);
    }
    if (osp_pb_read_varint(&r, &n) || n == 0 || n > (uint64_t)(r.end - r.p))
        goto corrupt;
    *t_ms = it->t;
    *rec = r.p;
    *len = (size_t)n;
    it->p = r.p + n;
    it->i++;
    return true;
corrupt:
    it->err = OSP_ECORRUPT;
    return false;
}

int osp_hchunk_decode(const uint8_t *rec, size_t len, osp_arena *arena, osp_histogram *out)
{
    const uint8_t *p = rec;
    int rc = osp_hist_decode(&p, rec + len, arena, out);
    if (rc == 0 && p != rec + len)
        rc = OSP_ECORRUPT;
    return rc;
}
