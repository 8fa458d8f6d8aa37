// "Diagnose a trace": how Osprey read each GenAI span of one trace (GET /api/v1/llm/diagnose):
// the conventions it recognised and, per canonical field, its status, value, the attribute
// it came from, or why it has none. The trace id and the span filter live in the URL.
import { useEffect, useState } from 'preact/hooks';

import { Link } from '../../components/link';
import { Loaded } from '../../components/states';
import { useApi } from '../../lib/api';
import { formatNumber, formatSeconds } from '../../lib/format';
import { setQuery, useLocation } from '../../lib/router';
import { CapturedText, useQuerySet } from './text';
import type { DiagnosedSpan, Diagnosis, FieldSource } from './types';

/** Which fields the diagnosis lists (diagFields in the URL). */
const FIELD_FILTERS: Array<[string, string, (f: FieldSource) => boolean]> = [
    ['all', 'All fields', () => true],
    ['found', 'Fields with a value', (f) => f.status === 'filled' || f.status === 'inherited' || f.status === 'derived'],
    ['unfound', 'Fields without a value', (f) => f.status === 'missing' || f.status === 'invalid' || f.status === 'not_applicable'],
    ['invalid', 'Invalid fields', (f) => f.status === 'invalid'],
];

const TRACE_ID = /^([0-9a-fA-F]{32}|[0-9a-fA-F]{16})$/;

/** Span types that are model calls (the LLM calls of the session APIs). */
const MODEL_TYPES = new Set(['llm', 'embedding']);

/** The trace-id form and the diagnosis of the trace in the URL's traceId. */
export function DiagnoseBox() {
    const { query } = useLocation();
    const traceId = (query.get('traceId') ?? '').trim();
    const all = query.get('diagAll') === '1';
    const filter = FIELD_FILTERS.find(([k]) => k === query.get('diagFields')) ?? FIELD_FILTERS[0];
    const [text, setText] = useState(traceId);
    useEffect(() => setText(traceId), [traceId]);
    const valid = text.trim() === '' || TRACE_ID.test(text.trim());
    const submit = (e: Event) => {
        e.preventDefault();
        if (valid) setQuery({ traceId: text.trim().toLowerCase(), diagOpen: undefined }, false);
    };
    return (
        <section class="diagnose" aria-labelledby="diagnose-title">
            <h2 id="diagnose-title">Diagnose a trace</h2>
            <p class="muted">
                How each GenAI span of a trace was read: the conventions recognised, and where every canonical field came from or why it has none.
            </p>
            <form class="toolbar" onSubmit={submit} role="search" aria-label="Diagnose a trace">
                <label>
                    Trace id
                    <input
                        type="text"
                        name="traceId"
                        class="mono trace-input"
                        value={text}
                        placeholder="32 hex characters"
                        spellcheck={false}
                        autocomplete="off"
                        aria-invalid={!valid}
                        aria-describedby={valid ? undefined : 'trace-id-error'}
                        onInput={(e) => setText(e.currentTarget.value)}
                    />
                </label>
                <button type="submit" class="btn primary" disabled={!valid || text.trim() === ''}>
                    Diagnose
                </button>
                {traceId && (
                    <button type="button" class="btn" onClick={() => setQuery({ traceId: undefined, diagOpen: undefined, diagAll: undefined }, false)}>
                        Clear
                    </button>
                )}
                <label class="inline">
                    <input type="checkbox" checked={all} onChange={(e) => setQuery({ diagAll: e.currentTarget.checked ? '1' : undefined })} />
                    Show every AI span, not only model calls
                </label>
                <label>
                    Fields
                    <select value={filter[0]} onChange={(e) => setQuery({ diagFields: e.currentTarget.value === 'all' ? undefined : e.currentTarget.value })}>
                        {FIELD_FILTERS.map(([k, text]) => (
                            <option key={k} value={k}>
                                {text}
                            </option>
                        ))}
                    </select>
                </label>
            </form>
            {!valid && (
                <p id="trace-id-error" class="error-text" role="alert">
                    A trace id is 32 hexadecimal characters (or 16 for a 64-bit id).
                </p>
            )}
            {traceId && <Diagnosed traceId={traceId} all={all} show={filter[2]} />}
        </section>
    );
}

function Diagnosed({ traceId, all, show }: { traceId: string; all: boolean; show: (f: FieldSource) => boolean }) {
    const r = useApi<Diagnosis>('/api/v1/llm/diagnose', { traceId });
    return (
        <Loaded r={r} what="the diagnosis">
            {(d) => {
                const spans = all ? d.spans : d.spans.filter((s) => MODEL_TYPES.has(s.type));
                return (
                    <div class="diagnosis">
                        <p>
                            Trace{' '}
                            <Link to={`/traces/${encodeURIComponent(d.traceId)}`} class="mono">
                                {d.traceId}
                            </Link>
                            : {formatNumber(d.spans.length)} GenAI {d.spans.length === 1 ? 'span' : 'spans'}
                            {all ? '' : `, ${formatNumber(spans.length)} of them model calls`} (mapping version <span class="mono">{d.mappingVersion}</span>).
                        </p>
                        {d.spans.length === 0 && <p class="state state-empty">No span of this trace carries GenAI telemetry of any known convention.</p>}
                        {d.spans.length > 0 && spans.length === 0 && (
                            <p class="state state-empty">This trace has no LLM or embedding call; tick "Show every AI span" to see its other AI spans.</p>
                        )}
                        {spans.map((s) => (
                            <SpanDiagnosis key={s.spanId} span={s} traceId={d.traceId} show={show} />
                        ))}
                    </div>
                );
            }}
        </Loaded>
    );
}

const STATUS_LABEL: Record<FieldSource['status'], string> = {
    filled: 'filled',
    inherited: 'inherited',
    derived: 'derived',
    missing: 'missing',
    invalid: 'invalid',
    not_applicable: 'not applicable',
};

/** Fields whose values are long texts, shown collapsed. */
const TEXT_FIELDS = new Set(['input_text', 'output_text']);

/** A field's value as text: seconds for ttft and tpot, counts formatted, the rest as sent. */
function fieldValue(name: string, v: FieldSource['value']): string {
    if (v === undefined || v === null) return '–';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return name === 'ttft' || name === 'tpot' ? formatSeconds(v) : formatNumber(v);
    return v;
}

function SpanDiagnosis({ span, traceId, show }: { span: DiagnosedSpan; traceId: string; show: (f: FieldSource) => boolean }) {
    const [open, toggle] = useQuerySet('diagOpen');
    const all = Object.entries(span.fields);
    const fields = all.filter(([, f]) => show(f));
    const counts = new Map<string, number>();
    for (const [, f] of all) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
    const titleId = `diag-${span.spanId}`;
    return (
        <article class="card diag-span" aria-labelledby={titleId}>
            <header class="diag-head">
                <h3 id={titleId}>
                    {span.name || '(no name)'} <span class="badge">{span.type}</span>
                </h3>
                <div class="muted">
                    span{' '}
                    <Link to={`/traces/${encodeURIComponent(traceId)}`} query={{ spanId: span.spanId }} class="mono">
                        {span.spanId}
                    </Link>{' '}
                    · conventions: {span.conventions.length ? span.conventions.join(', ') : 'none'} ·{' '}
                    {[...counts].map(([s, n]) => `${n} ${STATUS_LABEL[s as FieldSource['status']] ?? s}`).join(', ')}
                </div>
            </header>
            <div class="table-wrap">
                <table class="data fields">
                    <caption class="visually-hidden">Canonical fields of span {span.spanId}</caption>
                    <thead>
                        <tr>
                            <th scope="col">Field</th>
                            <th scope="col">Status</th>
                            <th scope="col">Value</th>
                            <th scope="col">Attribute</th>
                            <th scope="col">Convention</th>
                            <th scope="col">Reason</th>
                        </tr>
                    </thead>
                    <tbody>
                        {fields.map(([name, f]) => (
                            <tr key={name}>
                                <th scope="row" class="mono">
                                    {name}
                                </th>
                                <td>
                                    <span class={`status status-${f.status}`}>{STATUS_LABEL[f.status] ?? f.status}</span>
                                </td>
                                <td class="value">
                                    {TEXT_FIELDS.has(name) && typeof f.value === 'string' ? (
                                        <CapturedText
                                            id={`diag-${span.spanId}-${name}`}
                                            text={f.value}
                                            open={open.has(`${span.spanId}-${name}`)}
                                            onToggle={() => toggle(`${span.spanId}-${name}`)}
                                        />
                                    ) : (
                                        <span title={typeof f.value === 'number' ? String(f.value) : undefined}>{fieldValue(name, f.value)}</span>
                                    )}
                                </td>
                                <td class="mono">{f.attribute ?? '–'}</td>
                                <td>{f.convention ?? '–'}</td>
                                <td>{f.reason ?? ''}</td>
                            </tr>
                        ))}
                        {fields.length === 0 && (
                            <tr>
                                <td colSpan={6} class="muted">
                                    No field of this span is of the kind chosen.
                                </td>
                            </tr>
                        )}
                    </tbody>
                </table>
            </div>
        </article>
    );
}
