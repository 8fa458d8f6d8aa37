// The trace page's model: the OTLP/JSON document of GET /api/v1/traces/{id} turned into a span
// tree (times relative to the trace's start, in nanoseconds), with the figures every tab shows:
// the header's summary, each span's self time, the critical path and per-operation statistics.
// Pure functions of the document; the page computes them once per answer.

/** An OTLP AnyValue as OTLP/JSON writes it (64-bit integers as strings, bytes in base64). */
export interface AnyValue {
    stringValue?: string;
    boolValue?: boolean;
    intValue?: string | number;
    doubleValue?: number | string;
    arrayValue?: { values?: AnyValue[] };
    kvlistValue?: { values?: KeyValue[] };
    bytesValue?: string;
}

export interface KeyValue {
    key: string;
    value?: AnyValue;
}

interface OtlpEvent {
    timeUnixNano?: string;
    name?: string;
    attributes?: KeyValue[];
    droppedAttributesCount?: number;
}

interface OtlpLink {
    traceId?: string;
    spanId?: string;
    traceState?: string;
    attributes?: KeyValue[];
    droppedAttributesCount?: number;
    flags?: number;
}

interface OtlpSpan {
    traceId?: string;
    spanId?: string;
    traceState?: string;
    parentSpanId?: string;
    flags?: number;
    name?: string;
    kind?: number;
    startTimeUnixNano?: string;
    endTimeUnixNano?: string;
    attributes?: KeyValue[];
    droppedAttributesCount?: number;
    events?: OtlpEvent[];
    droppedEventsCount?: number;
    links?: OtlpLink[];
    droppedLinksCount?: number;
    status?: { code?: number; message?: string };
}

/** The answer of GET /api/v1/traces/{id}: an OTLP/JSON TracesData document. */
export interface TracesData {
    resourceSpans?: Array<{
        resource?: { attributes?: KeyValue[]; droppedAttributesCount?: number };
        schemaUrl?: string;
        scopeSpans?: Array<{
            scope?: { name?: string; version?: string; attributes?: KeyValue[] };
            schemaUrl?: string;
            spans?: OtlpSpan[];
        }>;
    }>;
}

export interface Resource {
    attributes: KeyValue[];
    droppedAttributesCount: number;
}

export interface Scope {
    name: string;
    version: string;
    attributes: KeyValue[];
}

export interface SpanEvent {
    at: number; // ns since the trace's start
    name: string;
    attributes: KeyValue[];
    droppedAttributesCount: number;
}

export interface SpanLink {
    traceId: string;
    spanId: string;
    traceState: string;
    attributes: KeyValue[];
}

/** One span; times are nanoseconds since the trace's start (exact: computed with BigInt). */
export interface Span {
    i: number; // index in TraceModel.spans
    traceId: string;
    spanId: string;
    parentSpanId: string; // '' for a root
    parent: number; // index of the parent, -1 for a root or when the parent is not in the trace
    missingParent: boolean; // has a parentSpanId that no span of the trace carries
    name: string;
    service: string; // service.name of the resource, '' when none
    kind: number;
    start: number;
    end: number;
    duration: number;
    startUnixNano: string; // as received
    statusCode: number; // 0 unset, 1 ok, 2 error
    statusMessage: string;
    error: boolean;
    traceState: string;
    flags: number;
    attributes: KeyValue[];
    droppedAttributesCount: number;
    events: SpanEvent[];
    droppedEventsCount: number;
    links: SpanLink[];
    droppedLinksCount: number;
    resource: Resource;
    scope: Scope;
    children: number[]; // indices, by start time
    depth: number;
    self: number; // ns of the span not covered by any child
    critical: Array<[number, number]>; // its sections on the critical path ([start, end], ns)
}

export interface TraceModel {
    spans: Span[];
    byId: Map<string, number>; // span id -> index
    roots: number[]; // spans without a parent in the trace, by start time
    order: number[]; // every span, depth first (children by start time)
    root: number; // the root span as the search API names it (-1 for an empty trace)
    startUnixNano: bigint; // the earliest span start
    duration: number; // latest end minus earliest start, ns
    services: string[]; // distinct non-empty service names, sorted
    errors: number; // spans with status ERROR
    maxDepth: number;
    criticalSpans: number; // spans with a section on the critical path
}

export const KIND_NAMES = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
export const STATUS_NAMES = ['Unset', 'Ok', 'Error'];

/** The name of a span kind (OTLP enum). */
export const kindName = (k: number) => KIND_NAMES[k] ?? `Unknown (${k})`;

/** The name of a status code (OTLP enum). */
export const statusName = (c: number) => STATUS_NAMES[c] ?? `Unknown (${c})`;

/** The text of an attribute value: strings as they are, arrays and maps as compact JSON. */
export function valueText(v: AnyValue | undefined): string {
    if (!v) return '';
    if (v.stringValue !== undefined) return v.stringValue;
    if (v.boolValue !== undefined) return String(v.boolValue);
    if (v.intValue !== undefined) return String(v.intValue);
    if (v.doubleValue !== undefined) return String(v.doubleValue);
    if (v.bytesValue !== undefined) return v.bytesValue;
    return JSON.stringify(plain(v));
}

/** An AnyValue as plain JSON (for arrays and maps). */
function plain(v: AnyValue | undefined): unknown {
    if (!v) return null;
    if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
    if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
    if (v.stringValue !== undefined) return v.stringValue;
    if (v.boolValue !== undefined) return v.boolValue;
    if (v.intValue !== undefined) return Number(v.intValue);
    if (v.doubleValue !== undefined) return Number(v.doubleValue);
    return v.bytesValue ?? null;
}

/** The text of attribute key in attrs, or undefined. */
export function attr(attrs: KeyValue[], key: string): string | undefined {
    const kv = attrs.find((a) => a.key === key);
    return kv ? valueText(kv.value) : undefined;
}

const big = (s: string | undefined): bigint => {
    try {
        return BigInt(s ?? '0');
    } catch {
        return 0n;
    }
};

/** Builds the model of a trace document. */
export function buildModel(doc: TracesData): TraceModel {
    const raw: Array<{ s: OtlpSpan; resource: Resource; scope: Scope; service: string; start: bigint; end: bigint }> = [];
    for (const rs of doc.resourceSpans ?? []) {
        const resource: Resource = { attributes: rs.resource?.attributes ?? [], droppedAttributesCount: rs.resource?.droppedAttributesCount ?? 0 };
        const service = attr(resource.attributes, 'service.name') ?? '';
        for (const ss of rs.scopeSpans ?? []) {
            const scope: Scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '', attributes: ss.scope?.attributes ?? [] };
            for (const s of ss.spans ?? []) {
                const start = big(s.startTimeUnixNano);
                const end = big(s.endTimeUnixNano);
                raw.push({ s, resource, scope, service, start, end: end < start ? start : end });
            }
        }
    }
    let t0 = raw.length ? raw[0].start : 0n;
    let t1 = t0;
    for (const r of raw) {
        if (r.start < t0) t0 = r.start;
        if (r.end > t1) t1 = r.end;
    }
    const spans: Span[] = raw.map(({ s, resource, scope, service, start, end }, i) => {
        const st = Number(start - t0);
        return {
            i,
            traceId: s.traceId ?? '',
            spanId: s.spanId ?? '',
            parentSpanId: s.parentSpanId ?? '',
            parent: -1,
            missingParent: false,
            name: s.name ?? '',
            service,
            kind: s.kind ?? 0,
            start: st,
            end: Number(end - t0),
            duration: Number(end - start),
            startUnixNano: s.startTimeUnixNano ?? '0',
            statusCode: s.status?.code ?? 0,
            statusMessage: s.status?.message ?? '',
            error: s.status?.code === 2,
            traceState: s.traceState ?? '',
            flags: s.flags ?? 0,
            attributes: s.attributes ?? [],
            droppedAttributesCount: s.droppedAttributesCount ?? 0,
            events: (s.events ?? []).map((e) => ({
                at: Number(big(e.timeUnixNano) - t0),
                name: e.name ?? '',
                attributes: e.attributes ?? [],
                droppedAttributesCount: e.droppedAttributesCount ?? 0,
            })),
            droppedEventsCount: s.droppedEventsCount ?? 0,
            links: (s.links ?? []).map((l) => ({
                traceId: l.traceId ?? '',
                spanId: l.spanId ?? '',
                traceState: l.traceState ?? '',
                attributes: l.attributes ?? [],
            })),
            droppedLinksCount: s.droppedLinksCount ?? 0,
            resource,
            scope,
            children: [],
            depth: 0,
            self: 0,
            critical: [],
        };
    });
    const byId = new Map<string, number>();
    for (const s of spans) if (!byId.has(s.spanId)) byId.set(s.spanId, s.i);
    const byStart = (a: number, b: number) => spans[a].start - spans[b].start || spans[a].end - spans[b].end || a - b;
    const roots: number[] = [];
    for (const s of spans) {
        const p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
        if (p !== undefined && p !== s.i) {
            s.parent = p;
            spans[p].children.push(s.i);
        } else {
            s.missingParent = s.parentSpanId !== '';
            roots.push(s.i);
        }
    }
    for (const s of spans) s.children.sort(byStart);
    roots.sort(byStart);
    const order = depthFirst(spans, roots);
    let maxDepth = 0;
    for (const i of order) maxDepth = Math.max(maxDepth, spans[i].depth);
    for (const s of spans) s.self = selfTime(spans, s);
    const duration = Number(t1 - t0);
    const criticalSpans = markCriticalPath(spans, roots, order, duration);
    // The root as the search API names it: the earliest span without a parent, else the earliest span.
    const parentless = spans.filter((s) => s.parentSpanId === '').sort((a, b) => byStart(a.i, b.i));
    const earliest = spans.length ? spans.reduce((a, b) => (byStart(a.i, b.i) <= 0 ? a : b)).i : -1;
    const root = parentless.length ? parentless[0].i : earliest;
    return {
        spans,
        byId,
        roots,
        order,
        root,
        startUnixNano: t0,
        duration,
        services: [...new Set(spans.map((s) => s.service).filter(Boolean))].sort(),
        errors: spans.filter((s) => s.error).length,
        maxDepth,
        criticalSpans,
    };
}

/**
 * Every span depth first (children by start), setting depths. Spans that no root reaches (a
 * cycle of parent ids) are taken as roots, so every span is shown once.
 */
function depthFirst(spans: Span[], roots: number[]): number[] {
    const order: number[] = [];
    const seen = new Uint8Array(spans.length);
    const walk = (r: number) => {
        const stack: Array<[number, number]> = [[r, 0]];
        while (stack.length) {
            const [i, d] = stack.pop()!;
            if (seen[i]) continue;
            seen[i] = 1;
            spans[i].depth = d;
            order.push(i);
            const kids = spans[i].children;
            for (let k = kids.length - 1; k >= 0; k--) stack.push([kids[k], d + 1]);
        }
    };
    for (const r of roots) walk(r);
    for (const s of spans) {
        if (seen[s.i]) continue;
        if (s.parent >= 0) spans[s.parent].children = spans[s.parent].children.filter((c) => c !== s.i);
        s.parent = -1;
        roots.push(s.i);
        walk(s.i);
    }
    return order;
}

/** The time of s not covered by any of its children (children clipped to s). */
function selfTime(spans: Span[], s: Span): number {
    let covered = 0;
    let from = s.start;
    const ivs = s.children.map((c) => [Math.max(spans[c].start, s.start), Math.min(spans[c].end, s.end)]).filter(([a, b]) => b > a);
    ivs.sort((a, b) => a[0] - b[0]);
    for (const [a, b] of ivs) {
        const lo = Math.max(a, from);
        if (b > lo) {
            covered += b - lo;
            from = b;
        }
    }
    return Math.max(0, s.duration - covered);
}

/**
 * Marks the critical path: the chain of work that determines when the trace ends. The rule:
 * walk back in time from the end of the trace (a virtual span around all roots). At each span,
 * with a boundary (at first the latest end in its subtree), take the child whose subtree ends
 * last at or before the boundary: the span itself owns the time from that end to the boundary;
 * the walk descends into the child (whose boundary is its subtree's end); back in the span, the
 * boundary moves to that child's start. Children ending after the boundary ran alongside a later
 * child and were overlapped by it, so they are skipped. With no child left, the span owns the time
 * from its start to the boundary. A span's sections are clipped to its own start and end (a child
 * that outlives its parent, as asynchronous work does, keeps the path, not the parent). Sets each
 * span's critical sections; returns how many spans have one.
 */
function markCriticalPath(spans: Span[], roots: number[], order: number[], duration: number): number {
    // The latest end in each subtree, children before parents (reverse depth-first order).
    const subEnd = new Float64Array(spans.length);
    for (let k = order.length - 1; k >= 0; k--) {
        const s = spans[order[k]];
        let e = s.end;
        for (const c of s.children) e = Math.max(e, subEnd[c]);
        subEnd[s.i] = e;
    }
    interface Frame {
        span: number; // -1: the virtual span around the roots
        start: number;
        kids: number[]; // by subtree end, latest first
        next: number;
        bound: number;
    }
    const frame = (span: number, bound: number): Frame => {
        const kids = (span < 0 ? roots : spans[span].children).slice().sort((a, b) => subEnd[b] - subEnd[a]);
        return { span, start: span < 0 ? 0 : spans[span].start, kids, next: 0, bound };
    };
    const section = (span: number, a: number, b: number) => {
        if (span < 0) return;
        const lo = Math.max(a, spans[span].start);
        const hi = Math.min(b, spans[span].end);
        if (hi > lo) spans[span].critical.push([lo, hi]);
    };
    const stack: Frame[] = [frame(-1, duration)];
    while (stack.length) {
        const f = stack[stack.length - 1];
        while (f.next < f.kids.length && subEnd[f.kids[f.next]] > f.bound) f.next++;
        if (f.next < f.kids.length && f.bound > f.start) {
            const c = f.kids[f.next++];
            section(f.span, subEnd[c], f.bound);
            f.bound = Math.max(f.start, Math.min(spans[c].start, subEnd[c]));
            stack.push(frame(c, subEnd[c]));
        } else {
            section(f.span, f.start, f.bound);
            stack.pop();
        }
    }
    let n = 0;
    for (const s of spans) {
        if (s.critical.length) {
            s.critical.reverse();
            n++;
        }
    }
    return n;
}

/** The spans shown with collapsed ones' descendants hidden, depth first. */
export function visibleSpans(m: TraceModel, collapsed: Set<string>): number[] {
    if (collapsed.size === 0) return m.order;
    const out: number[] = [];
    let skipBelow = -1; // while > -1: skipping the subtree of a collapsed span at this depth
    for (const i of m.order) {
        const s = m.spans[i];
        if (skipBelow >= 0) {
            if (s.depth > skipBelow) continue;
            skipBelow = -1;
        }
        out.push(i);
        if (s.children.length && collapsed.has(s.spanId)) skipBelow = s.depth;
    }
    return out;
}

/** The ancestors of span i, nearest first. */
export function ancestors(m: TraceModel, i: number): number[] {
    const out: number[] = [];
    for (let p = m.spans[i].parent; p >= 0 && out.length <= m.spans.length; p = m.spans[p].parent) out.push(p);
    return out;
}

/** Per service and operation: the Statistics tab's row. */
export interface OpStats {
    service: string;
    operation: string;
    count: number;
    total: number; // ns, sum of durations
    self: number; // ns, sum of self times
    max: number; // ns
    errors: number;
}

/** Statistics per (service, span name), in the trace's order of first appearance. */
export function operationStats(m: TraceModel): OpStats[] {
    const by = new Map<string, OpStats>();
    for (const i of m.order) {
        const s = m.spans[i];
        const key = `${s.service}\u0000${s.name}`;
        let o = by.get(key);
        if (!o) by.set(key, (o = { service: s.service, operation: s.name, count: 0, total: 0, self: 0, max: 0, errors: 0 }));
        o.count++;
        o.total += s.duration;
        o.self += s.self;
        o.max = Math.max(o.max, s.duration);
        if (s.error) o.errors++;
    }
    return [...by.values()];
}

/** Nanoseconds as seconds, for lib/format's formatSeconds. */
export const nsSeconds = (ns: number) => ns / 1e9;

/** Unix milliseconds of a unix-nanosecond string. */
export const nsToMs = (ns: string | bigint) => Number(BigInt(ns) / 1_000_000n);
