/* LogQL's ip("<pattern>") matching, as Loki has it: a pattern is one address, a range
 * "a-b" or a CIDR prefix "a/n", IPv4 or IPv6; a text matches when an address found in it
 * lies within the pattern. Used by line filters (|= ip(...), != ip(...)) and label filters
 * (name = ip(...), name != ip(...)). */
#ifndef OSP_QUERY_LOGQL_IP_H
#define OSP_QUERY_LOGQL_IP_H

#include <stdint.h>

#include "core/str.h"

/* The addresses a pattern holds: lo..hi (big-endian, 4 bytes for IPv4, 16 for IPv6),
 * of one family. */
typedef struct osp_logql_ip {
    int v6;
    uint8_t lo[16], hi[16];
} osp_logql_ip;

/* Parses a pattern. 0, or OSP_EPARSE: not an address, a range whose ends are of two
 * families or out of order, or a prefix length past the family's bits. IPv4 parts are
 * decimal without leading zeros; IPv6 zones are not accepted. */
int osp_logql_ip_parse(osp_str pattern, osp_logql_ip *out);

/* 1 when text holds an address within ip. Candidates are found as Loki finds them: at a
 * digit followed by '.' within three bytes, the longest run of digits and dots (IPv4); at
 * "::" and a hex digit, or one to four hex digits and ':', the longest run of hex digits,
 * ':' and '.' (IPv6); a candidate that does not match is skipped whole, so 93.180.71.3
 * never matches 3.180.71.3. An IPv4-mapped IPv6 address is IPv6. */
int osp_logql_ip_find(const osp_logql_ip *ip, osp_str text);

#endif
