/* zlib-backed inflation into a capped osp_buf. */
#include "core/gzip.h"

#include <zlib.h>

#include "core/err.h"

#define GZIP_MIN_STEP (16 * 1024)
#define GZIP_AUTO_HEADER (15 + 32) /* windowBits: detect a gzip or zlib header */
#define GZIP_RAW (-15)             /* windowBits: headerless deflate */

/* One inflation attempt with the given windowBits. *produced_any reports whether the
 * stream got past its header, which tells a wrong guess of the format apart from
 * corrupt data. */
static int inflate_as(osp_str in, int window_bits, size_t max_out, osp_buf *out, int *produced_any)
{
    z_stream zs = {0};
    size_t start = out->len, left_in = in.n;
    int rc = 0;
    *produced_any = 0;
    if (inflateInit2(&zs, window_bits) != Z_OK)
        return OSP_ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in.p;
    for (;;) {
        if (zs.avail_in == 0 && left_in > 0) {
            zs.avail_in = left_in > UINT_MAX ? UINT_MAX : (uInt)left_in;
            left_in -= zs.avail_in;
        }
        size_t produced = out->len - start;
        unsigned char probe;
        /* At the cap, one more byte of output would be one too many. */
        int full = produced == max_out;
        if (full) {
            zs.next_out = &probe;
            zs.avail_out = 1;
        } else {
            if (out->cap == out->len) {
                size_t step = out->len > GZIP_MIN_STEP ? out->len : GZIP_MIN_STEP;
                rc = osp_buf_reserve(out, step < max_out - produced ? step : max_out - produced);
                if (rc)
                    goto out;
            }
            size_t room = out->cap - out->len;
            room = room < max_out - produced ? room : max_out - produced;
            zs.next_out = (Bytef *)out->data + out->len;
            zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        }
        uInt avail = zs.avail_out;
        int zrc = inflate(&zs, Z_NO_FLUSH);
        size_t got = avail - zs.avail_out;
        if (full && got) {
            rc = OSP_ETOOBIG;
            goto out;
        }
        if (!full)
            out->len += got;
        if (zs.total_out > 0 || zrc == Z_STREAM_END)
            *produced_any = 1;
        if (zrc == Z_STREAM_END) {
            if (zs.avail_in == 0 && left_in == 0)
                goto out;
            if (inflateReset(&zs) != Z_OK) { /* another gzip member follows */
                rc = OSP_EPARSE;
                goto out;
            }
        } else if (zrc == Z_MEM_ERROR) {
            rc = OSP_ENOMEM;
            goto out;
        } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = OSP_EPARSE;
            goto out;
        } else if (zrc == Z_BUF_ERROR && zs.avail_in == 0 && left_in == 0) {
            rc = OSP_EPARSE; /* truncated */
            goto out;
        }
    }
out:
    inflateEnd(&zs);
    if (rc)
        out->len = start;
    return rc;
}

int osp_gzip_inflate(osp_str in, size_t max_out, osp_buf *out)
{
    int produced_any;
    int rc = inflate_as(in, GZIP_AUTO_HEADER, max_out, out, &produced_any);
    /* "Content-Encoding: deflate" is zlib by the RFC but often raw deflate in practice. */
    if (rc == OSP_EPARSE && !produced_any)
        rc = inflate_as(in, GZIP_RAW, max_out, out, &produced_any);
    return rc;
}
