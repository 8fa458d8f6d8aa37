/* Internal helpers shared by the log modules (logs.c, log_encode.c). */
#ifndef OSPREY_LOGS_INT_H
#define OSPREY_LOGS_INT_H

#include "sdk_int.h"

/* The short severity name of OTel's range that sev falls in: "TRACE", "DEBUG", "INFO",
 * "WARN", "ERROR" or "FATAL" ("UNSPECIFIED" outside 1..24). Static text. */
const char *osprey__severity_text(osprey_severity sev);

#endif
