/* Scrape configuration: the `global` and `scrape_configs` sections of the config file, and
 * file_sd target files, parsed and checked the way Prometheus does (strict: unknown keys are
 * errors). */
#ifndef OSP_SCRAPE_CONFIG_H
#define OSP_SCRAPE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/labels.h"
#include "scrape/relabel.h"

/* A list of targets sharing labels: an entry of static_configs or of a file_sd file. */
typedef struct osp_target_group {
    const char **targets; /* "host:port" */
    size_t ntargets;
    osp_label *labels; /* sorted by name */
    size_t nlabels;
    int line; /* 1-based line of the group in its file */
} osp_target_group;

typedef struct osp_file_sd_config {
    const char **files; /* glob patterns ending in .json, .yml or .yaml */
    size_t nfiles;
    int64_t refresh_interval_ms; /* default 5m */
} osp_file_sd_config;

typedef struct osp_scrape_job {
    const char *job_name;
    int64_t scrape_interval_ms; /* defaults to the global one */
    int64_t scrape_timeout_ms;  /* defaults to the global one, capped at the interval */
    const char *metrics_path;   /* default "/metrics" */
    const char *scheme;         /* "http" (the only one supported) */
    int honor_labels;           /* default 0 */
    int honor_timestamps;       /* default 1 */
    osp_label *params;          /* URL parameters in file order; a name may repeat */
    size_t nparams;
    osp_target_group *static_configs;
    size_t nstatic_configs;
    osp_file_sd_config *file_sd_configs;
    size_t nfile_sd_configs;
    osp_relabel_rule *relabel_configs; /* compiled; applied to targets */
    size_t nrelabel_configs;
    osp_relabel_rule *metric_relabel_configs; /* compiled; applied to scraped series */
    size_t nmetric_relabel_configs;
    int line; /* 1-based line of the job in the file */
} osp_scrape_job;

typedef struct osp_scrape_config {
    int64_t scrape_interval_ms;     /* global; default 1m */
    int64_t scrape_timeout_ms;      /* global; default 10s (or the interval when shorter) */
    int64_t evaluation_interval_ms; /* global; default 1m */
    osp_label *external_labels;     /* sorted by name */
    size_t nexternal_labels;
    osp_scrape_job *jobs;
    size_t njobs;
    osp_arena arena; /* owns every string and array above */
} osp_scrape_config;

/* Parses the `global` and `scrape_configs` sections of a YAML document text[0..len); other
 * top-level keys belong to other sections and are ignored here. name is used in messages
 * ("config.yaml:12: scrape_configs[0].scrape_timeout: must not be greater than
 * scrape_interval"). On success *out is a new config (free with osp_scrape_config_destroy).
 * Returns 0, OSP_EINVAL (bad configuration; message in err), or OSP_ENOMEM. */
int osp_scrape_config_parse(const char *name, const char *text, size_t len, osp_scrape_config **out,
                            char *err, size_t errlen);

/* Reads the file at path and parses it as osp_scrape_config_parse does; OSP_EIO when it
 * cannot be read (message in err). */
int osp_scrape_config_load(const char *path, osp_scrape_config **out, char *err, size_t errlen);

/* Frees a config and everything it owns; NULL is fine. */
void osp_scrape_config_destroy(osp_scrape_config *c);

/* Parses a file_sd target file: a YAML or JSON list of {targets: [...], labels: {...}} (JSON
 * is YAML to libyaml). json != 0 ignores unknown keys as Go's encoding/json does; YAML is
 * strict. Groups, strings and labels are allocated in arena. Returns 0, OSP_EINVAL (message
 * in err, prefixed with name and line) or OSP_ENOMEM. */
int osp_file_sd_parse(const char *name, const char *text, size_t len, int json, osp_arena *arena,
                      osp_target_group **out, size_t *nout, char *err, size_t errlen);

/* Reads and parses one file_sd file, choosing JSON by the ".json" extension, and adds the
 * label __meta_filepath=path to every group, as Prometheus does. OSP_EIO when unreadable. */
int osp_file_sd_load(const char *path, osp_arena *arena, osp_target_group **out, size_t *nout,
                     char *err, size_t errlen);

#endif
