/* Error codes shared by every Osprey module, and their messages. */
#ifndef OSP_CORE_ERR_H
#define OSP_CORE_ERR_H

/* X(name, value, message). Functions return 0 or one of these negative codes. */
#define OSP_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(IO, -3, "input/output error")                                                                \
    X(CORRUPT, -4, "corrupt data")                                                                 \
    X(TOOBIG, -5, "too large")                                                                     \
    X(NOTFOUND, -6, "not found")                                                                   \
    X(BUSY, -7, "busy, retry later")                                                               \
    X(PARSE, -8, "malformed input")                                                                \
    X(UNSUPPORTED, -9, "unsupported")                                                              \
    X(EXISTS, -10, "already exists")                                                               \
    X(CLOSED, -11, "closed")                                                                       \
    X(AGAIN, -12, "incomplete input")                                                              \
    X(EXEC, -13, "execution failed")                                                               \
    X(TIMEDOUT, -14, "timed out")

enum {
#define OSP_ERR_ENUM(name, value, msg) OSP_E##name = (value),
    OSP_ERRNO_MAP(OSP_ERR_ENUM)
#undef OSP_ERR_ENUM
};

/* Returns a static message for an error code; "unknown error" for anything else. */
const char *osp_strerror(int err);

/* Returns the symbolic name ("OSP_ECORRUPT") of an error code. */
const char *osp_err_name(int err);

#endif
