/* RE2 regular expressions, as Prometheus's users write them, translated to a guarded POSIX
 * regex (core/regex.h) and matched in a UTF-8 locale (see re2.c for the supported syntax). */
#ifndef OSP_CORE_RE2_H
#define OSP_CORE_RE2_H

#include <regex.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/regex.h"
#include "core/str.h"

#define OSP_RE2_ANCHORED 1 /* match the whole subject, as Prometheus's "^(?:" re ")$" */
#define OSP_RE2_NOSUB 2    /* report no groups: osp_re2_match only says whether it matched */

typedef struct osp_re2_group osp_re2_group;

/* A compiled RE2 pattern; fields are read-only for callers. */
typedef struct osp_re2 {
    regex_t re;            /* the POSIX translation, compiled */
    size_t ngroups;        /* the pattern's capture groups: $1 .. $ngroups */
    osp_re2_group *groups; /* [ngroups + 1]: POSIX subexpression and name of each */
    char *names;           /* storage of the group names */
    int flags;             /* OSP_RE2_* given at compile */
} osp_re2;

/* Compiles an RE2 pattern (any bytes; it must be valid UTF-8, at most OSP_REGEX_MAX_LEN
 * bytes) with OSP_RE2_* flags; the translation passes osp_regex_compile's guards. Returns
 * 0 (release with osp_re2_cleanup), OSP_ENOMEM, or OSP_EINVAL with a one-line message in
 * err (when errlen > 0) in Go's words where Go has them, as "missing closing ): `(`", or
 * saying which RE2 feature is not supported. */
int osp_re2_compile(osp_re2 *re, osp_str pattern, int flags, char *err, size_t errlen);

/* Frees what osp_re2_compile allocated. */
void osp_re2_cleanup(osp_re2 *re);

/* Matches subject (any bytes; invalid UTF-8 reads as U+FFFD, byte by byte, as in RE2): the
 * whole of it with OSP_RE2_ANCHORED, else the leftmost match. When m is given (nm entries,
 * not with OSP_RE2_NOSUB), m[0] is the match and m[k] group k as byte offsets into subject,
 * {-1, -1} for a group that took no part or k > ngroups. Returns 1 on a match, 0 on none,
 * OSP_ENOMEM. Submatches follow POSIX leftmost-longest rules, not RE2's leftmost-first:
 * where alternatives overlap or repetitions are non-greedy the whole match is the same
 * (anchored) but group boundaries can differ. */
int osp_re2_match(const osp_re2 *re, osp_str subject, regmatch_t *m, size_t nm);

/* As osp_re2_match, unanchored, for the leftmost match that starts at byte from or later,
 * the bytes before from still read as context (so ^ matches only at 0, as in Go when a
 * search goes on after a previous match); offsets are into the whole subject. */
int osp_re2_search(const osp_re2 *re, osp_str subject, size_t from, regmatch_t *m, size_t nm);

/* A subject prepared once for many searches (Go's FindAll, ReplaceAll): a copy of its
 * bytes, invalid UTF-8 replaced by U+FFFD, so each search costs only the regex's own work.
 * Fields are private; not to be copied (z may point into zbuf). */
typedef struct osp_re2_subject {
    osp_str s;
    char *z;    /* the bytes searched, NUL-terminated */
    size_t zn;  /* their length */
    size_t *at; /* z offset -> s offset, when s had invalid UTF-8; else NULL */
    char zbuf[256];
} osp_re2_subject;

/* Prepares subject (it must outlive sub). 0 (release with osp_re2_subject_cleanup, which is
 * also safe after a failure) or OSP_ENOMEM. */
int osp_re2_subject_init(osp_re2_subject *sub, osp_str subject);
void osp_re2_subject_cleanup(osp_re2_subject *sub);

/* osp_re2_search on a prepared subject: the same results. */
int osp_re2_search_in(const osp_re2 *re, const osp_re2_subject *sub, size_t from, regmatch_t *m,
                      size_t nm);

/* Go's Regexp.Expand of tmpl with the groups m[0..ngroups] of a match on subject: "$$" is
 * "$"; "$name" and "${name}" (name: ASCII letters, digits, '_') are the group of that
 * number (no leading zeros; $0 the whole match) or, if not a number, the leftmost group of
 * that name that took part; "$1x" names group "1x"; an unknown or absent group expands to
 * nothing; a malformed reference leaves its "$" as text. *out is NUL-terminated in arena.
 * Returns 0 or OSP_ENOMEM. */
int osp_re2_expand(const osp_re2 *re, osp_str tmpl, osp_str subject, const regmatch_t *m,
                   osp_arena *arena, osp_str *out);

#endif
