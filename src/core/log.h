/* Leveled logging to stderr, one line per event, safe from any thread. */
#ifndef OSP_CORE_LOG_H
#define OSP_CORE_LOG_H

enum osp_log_level { OSP_LOG_DEBUG, OSP_LOG_INFO, OSP_LOG_WARN, OSP_LOG_ERROR };

/* Messages below level are dropped. Default: OSP_LOG_INFO, or OSP_LOG_LEVEL from the
 * environment (debug|info|warn|error). */
void osp_log_set_level(enum osp_log_level level);
void osp_log(enum osp_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define osp_debug(mod, ...) osp_log(OSP_LOG_DEBUG, mod, __VA_ARGS__)
#define osp_info(mod, ...) osp_log(OSP_LOG_INFO, mod, __VA_ARGS__)
#define osp_warn(mod, ...) osp_log(OSP_LOG_WARN, mod, __VA_ARGS__)
#define osp_error(mod, ...) osp_log(OSP_LOG_ERROR, mod, __VA_ARGS__)

#endif
