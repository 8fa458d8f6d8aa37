// The Statistics tab: per service and operation, how many spans, their total and self time,
// average and longest duration, and errors; a sortable, filterable table (state in the URL).
import { useMemo } from 'preact/hooks';

import type { Column } from '../../components/table';
import { Table } from '../../components/table';
import { formatNumber, formatPercent, formatSeconds } from '../../lib/format';
import type { OpStats, TraceModel } from './model';
import { nsSeconds, operationStats } from './model';

const dur = (ns: number) => formatSeconds(nsSeconds(ns));

/** The statistics table of a trace. */
export function TraceStats({ model, colours }: { model: TraceModel; colours: Map<string, string> }) {
    const rows = useMemo(() => operationStats(model), [model]);
    const total = model.duration || 1;
    const columns: Array<Column<OpStats>> = [
        {
            key: 'service',
            label: 'Service',
            render: (r) => (
                <>
                    <span class="wf-swatch" style={{ background: colours.get(r.service) }} aria-hidden="true" /> {r.service || '(no service)'}
                </>
            ),
            sort: (r) => r.service,
        },
        { key: 'operation', label: 'Operation', render: (r) => r.operation, sort: (r) => r.operation },
        { key: 'count', label: 'Spans', render: (r) => formatNumber(r.count), sort: (r) => r.count, numeric: true },
        { key: 'total', label: 'Total time', render: (r) => dur(r.total), sort: (r) => r.total, numeric: true },
        {
            key: 'self',
            label: 'Self time',
            render: (r) => (
                <span title={`${formatPercent(r.self / total)} of the trace's duration`}>{dur(r.self)}</span>
            ),
            sort: (r) => r.self,
            numeric: true,
        },
        { key: 'avg', label: 'Avg duration', render: (r) => dur(r.total / r.count), sort: (r) => r.total / r.count, numeric: true },
        { key: 'max', label: 'Max duration', render: (r) => dur(r.max), sort: (r) => r.max, numeric: true },
        {
            key: 'errors',
            label: 'Errors',
            render: (r) => <span class={r.errors ? 'error-text' : undefined}>{formatNumber(r.errors)}</span>,
            sort: (r) => r.errors,
            numeric: true,
        },
    ];
    return (
        <div class="trace-stats" data-testid="trace-stats">
            <Table
                id="stats"
                columns={columns}
                rows={rows}
                rowKey={(r) => `${r.service}\u0000${r.operation}`}
                filterText={(r) => `${r.service} ${r.operation}`}
                defaultSort="-self"
                caption="Statistics per service and operation"
            />
            <p class="muted">
                Self time: the time of a span not covered by any of its children. Total time adds up whole durations, so nested spans of one
                operation count more than once.
            </p>
        </div>
    );
}
