// The Metrics page: a PromQL editor with completion of metric, label and value names, Run
// (Ctrl+Enter), and the result as a graph over the range or as a table at its end. The query and
// the view live in the URL.
import { useEffect, useState } from 'preact/hooks';

import { Empty } from '../components/states';
import { useApi } from '../lib/api';
import { setQuery, useLocation } from '../lib/router';
import { useTimeRange } from '../lib/time';
import { type MetricMeta, PromqlEditor } from './metrics/editor';
import { GraphView, TableView } from './metrics/results';
import './metrics.css';

type View = 'graph' | 'table';

export function MetricsPage() {
    const { query: url } = useLocation();
    const committed = url.get('query') ?? '';
    const view: View = url.get('view') === 'table' ? 'table' : 'graph';
    const [draft, setDraft] = useState(committed);
    const [runs, setRuns] = useState(0);
    useEffect(() => setDraft(committed), [committed]);
    const range = useTimeRange(runs);
    const names = useApi<{ data: string[] }>('/api/v1/label/__name__/values');
    const meta = useApi<{ data: Record<string, MetricMeta[]> }>('/api/v1/metadata');
    const run = () => {
        setRuns((n) => n + 1);
        setQuery({ query: draft.trim() }, draft.trim() === committed);
    };
    return (
        <div class="metrics-page">
            <form
                class="metrics-query"
                onSubmit={(e) => {
                    e.preventDefault();
                    run();
                }}
            >
                <PromqlEditor value={draft} onInput={setDraft} onRun={run} metrics={names.data?.data ?? []} metadata={meta.data?.data ?? {}} />
                <div class="metrics-actions">
                    <button type="submit" class="btn primary">
                        Run
                    </button>
                    <div class="tabs" role="group" aria-label="View">
                        <button type="button" class="btn" aria-pressed={view === 'graph'} onClick={() => setQuery({ view: undefined })}>
                            Graph
                        </button>
                        <button type="button" class="btn" aria-pressed={view === 'table'} onClick={() => setQuery({ view: 'table' })}>
                            Table
                        </button>
                    </div>
                    {names.error && <span class="error-text">Metric names could not be loaded for suggestions: {names.error.message}</span>}
                </div>
            </form>
            {!committed ? (
                <Empty>Write a PromQL query and press Run (Ctrl+Enter) to see its result.</Empty>
            ) : view === 'graph' ? (
                <GraphView query={committed} range={range} />
            ) : (
                <TableView query={committed} range={range} />
            )}
        </div>
    );
}
