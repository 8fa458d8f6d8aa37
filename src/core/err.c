/* Messages for the error table in err.h. */
#include "core/err.h"

const char *osp_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define OSP_ERR_MSG(name, value, msg)                                                              \
    case OSP_E##name:                                                                              \
        return msg;
        OSP_ERRNO_MAP(OSP_ERR_MSG)
#undef OSP_ERR_MSG
    }
    return "unknown error";
}

const char *osp_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define OSP_ERR_NAME(name, value, msg)                                                             \
    case OSP_E##name:                                                                              \
        return "OSP_E" #name;
        OSP_ERRNO_MAP(OSP_ERR_NAME)
#undef OSP_ERR_NAME
    }
    return "OSP_EUNKNOWN";
}
