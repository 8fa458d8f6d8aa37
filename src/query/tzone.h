/* IANA time zones for Go's time functions in templates: TZif files (RFC 8536) read from the
 * system's zone database, looked up as Go's time.Location looks them up. Also the civil
 * calendar (proleptic Gregorian, any year) that both need. */
#ifndef OSP_QUERY_TZONE_H
#define OSP_QUERY_TZONE_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Bytes of a zone abbreviation with its NUL: "CEST", "+0530", at most 11 characters. */
#define OSP_TZONE_ABBR_SIZE 12

/* The zone database read when ZONEINFO is not set, as Go and Debian's tzdata have it. */
#define OSP_TZONE_DIR "/usr/share/zoneinfo"

/* Largest TZif file read (real ones are under 4 KiB). */
#define OSP_TZONE_FILE_MAX (256 * 1024)

/* A time zone: transitions between local time types, and the footer's rule for instants
 * after the last one. Immutable once made, so any thread may read it. */
typedef struct osp_tzone osp_tzone;

/* UTC: offset 0, abbreviation "UTC" (Go's time.UTC). Static; never destroyed. */
const osp_tzone *osp_tzone_utc(void);

/* The zone named name, as Go's time.LoadLocation finds it: "" and "UTC" are UTC, "Local" is
 * Osprey's local zone, which is UTC; any other name is a TZif file under the directory in
 * the ZONEINFO environment variable, or OSP_TZONE_DIR when that is unset or empty. Names
 * that could reach outside that directory (containing "..", starting with '/', holding a
 * '\\' or a byte other than letters, digits and "/_+-.") are refused without a look.
 * Zones are loaded once per process and kept until it exits (the pointer stays valid);
 * unknown names are remembered too (up to 512). NULL when the name is refused, names no
 * readable file, the file is not a valid TZif file, or 3072 names are held already (the
 * database has about 1300 files). Thread-safe. */
const osp_tzone *osp_tzone_find(osp_str name);

/* Reads a TZif file (RFC 8536, versions 1 to 4) held in data[0..n): with version 2 and later
 * the 64-bit block and the footer's POSIX TZ rule. Stricter than Go where the RFC says MUST:
 * transitions in ascending order, NUL-terminated abbreviations (of at most 11 bytes),
 * offsets within 26 h, a footer that reads. 0 with *out (the caller destroys it);
 * OSP_ECORRUPT for bad or truncated data, with what is wrong in err (errlen bytes,
 * NUL-terminated, cut to fit; err may be NULL); OSP_ENOMEM. */
int osp_tzone_parse(const uint8_t *data, size_t n, osp_tzone **out, char *err, size_t errlen);

/* Frees a zone from osp_tzone_parse; NULL is fine. */
void osp_tzone_destroy(osp_tzone *z);

/* What z shows at instant sec (seconds since 1970 UTC, any value): the abbreviation,
 * NUL-terminated and owned by z, and in *off the offset east of UTC in seconds. */
const char *osp_tzone_lookup(const osp_tzone *z, int64_t sec, int32_t *off);

/* The instant at which z's clocks read wall (that reading's seconds since 1970 as if in
 * UTC), resolved as Go's time.Date does: a reading skipped at a change to summer time is
 * moved forward by the change, a reading that happens twice is taken as Go takes it. */
int64_t osp_tzone_from_wall(const osp_tzone *z, int64_t wall);

/* Go's Location.lookupName: the offset of abbreviation abbr in z when the clocks read wall
 * (as in osp_tzone_from_wall), preferring a use of abbr in effect then, else any use of it.
 * 1 with *off, or 0 when z never uses abbr (UTC uses none). */
int osp_tzone_abbr_offset(const osp_tzone *z, osp_str abbr, int64_t wall, int32_t *off);

/* A wall-clock reading in calendar fields. */
typedef struct osp_civil {
    int64_t year; /* astronomical: 0 is 1 BC */
    int month;    /* 1-12 */
    int day;      /* 1-31 */
    int yday;     /* 1-366 */
    int wday;     /* 0 (Sunday) - 6 */
    int hour, min, sec;
} osp_civil;

/* 1 when year is a Gregorian leap year. */
int osp_tzone_is_leap(int64_t year);
/* Days in month (1-12) of year. */
int osp_tzone_days_in_month(int64_t year, int month);
/* Days from 1970-01-01 to year-month-day (month 1-12, day 1-31). |year| < 2^40. */
int64_t osp_tzone_days_from_civil(int64_t year, int month, int day);
/* The calendar fields of wall (seconds since 1970-01-01 00:00 of the same clock). */
osp_civil osp_tzone_civil(int64_t wall);

#endif
