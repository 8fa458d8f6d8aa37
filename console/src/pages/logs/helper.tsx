// The Logs page's label helper: picks a stream label (/loki/api/v1/labels) and one of its values
// (/loki/api/v1/label/{name}/values) and adds the matcher to the query's stream selector.
import { useState } from 'preact/hooks';

import { useApi } from '../../lib/api';
import { MATCH_OPS, type MatchOp } from './logql';

interface Props {
    labels: string[]; // stream label names in the range
    range: { start: string; end: string };
    onAdd: (name: string, op: MatchOp, value: string) => void;
}

export function LabelHelper({ labels, range, onAdd }: Props) {
    const [name, setName] = useState('');
    const [op, setOp] = useState<MatchOp>('=');
    const [value, setValue] = useState('');
    const values = useApi<{ data: string[] }>(name ? `/loki/api/v1/label/${encodeURIComponent(name)}/values` : null, range);
    const submit = (e: Event) => {
        e.preventDefault();
        if (!name) return;
        onAdd(name, op, value);
        setValue('');
    };
    let hint = '';
    if (name) hint = values.error ? `values not loaded: ${values.error.message}` : values.loading ? 'loading values…' : `${values.data?.data.length ?? 0} values`;
    return (
        <form class="logs-helper" onSubmit={submit} aria-label="Add a label matcher to the query">
            <label>
                Label
                <select
                    value={name}
                    onChange={(e) => {
                        setName(e.currentTarget.value);
                        setValue('');
                    }}
                >
                    <option value="">Choose a label</option>
                    {labels.map((l) => (
                        <option key={l} value={l}>
                            {l}
                        </option>
                    ))}
                </select>
            </label>
            <label>
                Operator
                <select value={op} onChange={(e) => setOp(e.currentTarget.value as MatchOp)}>
                    {MATCH_OPS.map((o) => (
                        <option key={o} value={o}>
                            {o}
                        </option>
                    ))}
                </select>
            </label>
            <label>
                Value
                <input
                    type="text"
                    list="logs-helper-values"
                    value={value}
                    disabled={!name}
                    onInput={(e) => setValue(e.currentTarget.value)}
                    aria-describedby="logs-helper-hint"
                />
                <datalist id="logs-helper-values">
                    {(values.data?.data ?? []).map((v) => (
                        <option key={v} value={v} />
                    ))}
                </datalist>
            </label>
            <button type="submit" class="btn" disabled={!name}>
                Add to query
            </button>
            <span id="logs-helper-hint" class="muted" aria-live="polite">
                {hint}
            </span>
        </form>
    );
}
