/* gRPC message framing and status helpers. */
#include "net/grpc.h"

#include "core/err.h"
#include "core/gzip.h"

int osp_grpc_encoding_ok(osp_str encoding)
{
    return encoding.n == 0 || osp_str_eqz(encoding, "identity") || osp_str_eqz(encoding, "gzip");
}

static int refuse(osp_grpc_error *err, int code, const char *message, int rc)
{
    err->code = code;
    err->message = message;
    return rc;
}

int osp_grpc_unary_message(osp_str body, osp_str encoding, size_t max_msg, osp_buf *scratch,
                           osp_str *msg, osp_grpc_error *err)
{
    if (!osp_grpc_encoding_ok(encoding))
        return refuse(err, OSP_GRPC_UNIMPLEMENTED, "unsupported grpc-encoding", OSP_EUNSUPPORTED);
    if (body.n == 0)
        return refuse(err, OSP_GRPC_UNIMPLEMENTED, "cardinality violation: no request message",
                      OSP_EINVAL);
    if (body.n < OSP_GRPC_PREFIX)
        return refuse(err, OSP_GRPC_INTERNAL, "truncated message prefix", OSP_EPARSE);
    const unsigned char *b = (const unsigned char *)body.p;
    unsigned flag = b[0];
    size_t len = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
    if (flag > 1)
        return refuse(err, OSP_GRPC_INTERNAL, "invalid compressed flag", OSP_EPARSE);
    if (len > body.n - OSP_GRPC_PREFIX)
        return refuse(err, OSP_GRPC_INTERNAL, "truncated message", OSP_EPARSE);
    if (len < body.n - OSP_GRPC_PREFIX)
        return refuse(err, OSP_GRPC_UNIMPLEMENTED,
                      "cardinality violation: more than one request message", OSP_EINVAL);
    osp_str payload = osp_str_make(body.p + OSP_GRPC_PREFIX, len);
    if (flag == 0) {
        if (len > max_msg)
            return refuse(err, OSP_GRPC_RESOURCE_EXHAUSTED, "message larger than the limit",
                          OSP_ETOOBIG);
        *msg = payload;
        return 0;
    }
    if (encoding.n == 0 || osp_str_eqz(encoding, "identity"))
        return refuse(err, OSP_GRPC_INTERNAL, "compressed flag set without grpc-encoding",
                      OSP_EPARSE);
    size_t start = scratch->len;
    int rc = osp_gzip_inflate(payload, max_msg, scratch);
    if (rc == OSP_ETOOBIG)
        return refuse(err, OSP_GRPC_RESOURCE_EXHAUSTED,
                      "decompressed message larger than the limit", rc);
    if (rc == OSP_ENOMEM)
        return refuse(err, OSP_GRPC_RESOURCE_EXHAUSTED, "out of memory", rc);
    if (rc)
        return refuse(err, OSP_GRPC_INTERNAL, "could not decompress the message", rc);
    *msg = osp_str_make(scratch->data + start, scratch->len - start);
    return 0;
}

void osp_grpc_prefix(size_t len, unsigned char out[OSP_GRPC_PREFIX])
{
    out[0] = 0;
    out[1] = (unsigned char)(len >> 24);
    out[2] = (unsigned char)(len >> 16);
    out[3] = (unsigned char)(len >> 8);
    out[4] = (unsigned char)len;
}

int osp_grpc_percent_encode(osp_str s, osp_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    size_t run = 0;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c <= 0x7e && c != '%')
            continue;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        rc = osp_buf_append(out, s.p + run, i - run);
        if (rc == 0)
            rc = osp_buf_append(out, esc, 3);
        run = i + 1;
    }
    if (rc == 0)
        rc = osp_buf_append(out, s.p + run, s.n - run);
    return rc;
}

int osp_grpc_code_from_http(int http_status)
{
    switch (http_status) {
    case 400:
        return OSP_GRPC_INTERNAL;
    case 401:
        return OSP_GRPC_UNAUTHENTICATED;
    case 403:
        return OSP_GRPC_PERMISSION_DENIED;
    case 404:
    case 405:
        return OSP_GRPC_UNIMPLEMENTED;
    case 413:
    case 431:
        return OSP_GRPC_RESOURCE_EXHAUSTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return OSP_GRPC_UNAVAILABLE;
    default:
        return http_status >= 200 && http_status < 300 ? OSP_GRPC_OK : OSP_GRPC_UNKNOWN;
    }
}
