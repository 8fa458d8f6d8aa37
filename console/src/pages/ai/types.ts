// The answers of the LLM, session, user and agent APIs (docs/golden-signals.md), field for
// field as src/api/golden.c and src/api/sessions.c write them. Times are unix seconds,
// latencies of the llm/* APIs seconds, the others' durations milliseconds; null where a
// figure does not exist (a quantile without observations).

/** The groupings of GET /api/v1/llm/models (timeseries takes all but user). */
export type GroupBy = 'model' | 'provider' | 'service' | 'user';

/** One row of GET /api/v1/llm/models. */
export interface LlmUsage {
    key: string;
    provider?: string; // only when grouped by model
    calls: number;
    errors: number;
    inputTokens: number; // cached ones included
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    cost: number;
    latencyP50: number | null;
    latencyP95: number | null;
    ttftP50: number | null;
    ttftP95: number | null;
    tpotP50: number | null;
    tpotP95: number | null;
    streamingShare: number | null;
}

export interface LlmModels {
    models: LlmUsage[];
}

/** The metrics of GET /api/v1/llm/timeseries. */
export type LlmMetric = 'calls' | 'errors' | 'tokens' | 'cost' | 'latency_p95' | 'ttft_p95' | 'tpot_p95';

export interface LlmTimeseries {
    step: number;
    series: Array<{ key: string; points: Array<[number, number | null]> }>;
}

/** One row of GET /api/v1/llm/streaming. */
export interface StreamingStats {
    provider: string;
    model: string;
    streamedCalls: number;
    failedAfterFirstToken: number;
    failedAfterFirstTokenShare: number | null;
    stalls: number;
    maxGapMs: number | null;
}

/** The session, user, agent and streaming lists: indexedFrom (unix seconds) when the range
 *  reaches before the days the AI call index holds in memory (--ai-index-memory). */
export interface IndexedList {
    indexedFrom?: number;
}

export interface LlmStreaming extends IndexedList {
    models: StreamingStats[];
}

/** Where one canonical field of a span came from (GET /api/v1/llm/diagnose). */
export interface FieldSource {
    status: 'filled' | 'inherited' | 'derived' | 'missing' | 'invalid' | 'not_applicable';
    value?: string | number | boolean | null;
    attribute?: string;
    convention?: string;
    reason?: string;
}

export interface DiagnosedSpan {
    spanId: string;
    name: string;
    type: string;
    conventions: string[];
    fields: Record<string, FieldSource>;
}

export interface Diagnosis {
    traceId: string;
    mappingVersion: string;
    spans: DiagnosedSpan[];
}

/** One row of GET /api/v1/sessions. */
export interface SessionSummary {
    id: string;
    user: string;
    services: string[];
    turns: number;
    traces: number;
    inputTokens: number;
    outputTokens: number;
    cost: number;
    errors: number;
    durationMs: number | null;
    firstSeen: number;
    lastSeen: number;
}

export interface Sessions extends IndexedList {
    sessions: SessionSummary[];
}

/** One turn of GET /api/v1/sessions/{id}. */
export interface Turn {
    traceId: string;
    start: number;
    durationMs: number | null;
    model: string;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cost: number;
    ttftMs: number | null;
    errors: number;
    input: string;
    output: string;
    llmCalls: number;
    toolCalls: Array<{ name: string; error: boolean }>;
}

export interface SessionDetail {
    id: string;
    user: string;
    turns: Turn[];
}

/** One row of GET /api/v1/users. */
export interface UserUsage {
    id: string;
    sessions: number;
    traces: number;
    llmCalls: number;
    inputTokens: number;
    outputTokens: number;
    cost: number;
    errors: number;
    firstSeen: number;
    lastSeen: number;
}

export interface Users extends IndexedList {
    users: UserUsage[];
}

export interface AgentTool {
    name: string;
    calls: number;
    errors: number;
    p95Ms: number | null;
}

export interface Transition {
    from: string;
    to: string;
    count: number;
}

/** One row of GET /api/v1/agents. */
export interface AgentStats {
    name: string;
    runs: number;
    llmCallsPerRun: number | null;
    errors: number;
    tools: AgentTool[];
    transitions: Transition[];
}

export interface Agents extends IndexedList {
    agents: AgentStats[];
}
