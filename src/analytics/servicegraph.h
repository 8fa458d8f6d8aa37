/* The service graph from spans: request edges between services, under Tempo's
 * metrics-generator names (derived.h). */
#ifndef OSP_ANALYTICS_SERVICEGRAPH_H
#define OSP_ANALYTICS_SERVICEGRAPH_H

#include "analytics/derived.h"

/* How long an unpaired span waits for its peer (arrival time), and how many may wait. */
#define OSP_SERVICEGRAPH_WINDOW_MS 10000
#define OSP_SERVICEGRAPH_MAX_PENDING 100000
/* How long, after that, a span is still kept compactly for a late peer, and how many. */
#define OSP_SERVICEGRAPH_LATE_MS 600000
#define OSP_SERVICEGRAPH_MAX_LATE 500000

/* The deriver of the OSP_DERIVED_GRAPH_* series. A CLIENT or PRODUCER span of service A
 * and a SERVER or CONSUMER span of service B != A whose parent is that client span (same
 * trace) make one request from client A to server B, in either arrival order within
 * OSP_SERVICEGRAPH_WINDOW_MS; it fails when either span has status ERROR; the server
 * span's duration goes to the server histogram, the client span's to the client one.
 * A PRODUCER or CONSUMER side makes the connection_type "messaging_system".
 *
 * A client span still unpaired when its window ends (or when it is evicted, oldest first,
 * to keep at most OSP_SERVICEGRAPH_MAX_PENDING spans waiting) is a request to an
 * uninstrumented peer when it names one: peer.service (connection_type "virtual_node"),
 * db.system.name or db.system ("database"), messaging.system ("messaging_system"),
 * gen_ai.provider.name or gen_ai.system, server.address or net.peer.name ("virtual_node"),
 * the first found in that order naming the server; only its client duration is known. A
 * root SERVER or CONSUMER span is a request from client "user" (only its server duration
 * is known); it can have no client span, so it counts at once. Other unpaired spans are
 * dropped when their window ends.
 *
 * A span that stopped waiting (expired or evicted) is still kept, compactly, for
 * OSP_SERVICEGRAPH_LATE_MS more (at most OSP_SERVICEGRAPH_MAX_LATE, oldest dropped first):
 * a peer arriving then still makes the pair, counted as it arrives. A client that named a
 * peer was counted on that peer's edge when its window ended, so such a late request
 * appears on both edges (osprey_servicegraph_late_pairs_total counts late pairs).
 *
 * Repeats of a span (one key and role, as when a client sends a batch again) still pair
 * and count one by one, but share one place while waiting and one when kept late: they
 * stop waiting when the first of them does, and take one place of the bounds above. */
extern const osp_deriver osp_servicegraph_deriver;

#endif
