// The PromQL editor: a textarea with its own completion list of metric and function names
// (/api/v1/label/__name__/values, with /api/v1/metadata's type and help), of label names
// (/api/v1/labels) inside {...} and by (...), and of label values (/api/v1/label/{name}/values).
// The list works as a combobox's (a textarea may not take that role, so it stays a textbox with
// aria-activedescendant): arrows move, Enter or Tab accept, Escape closes, Ctrl+Space opens it;
// Ctrl+Enter runs the query.
import { useEffect, useRef, useState } from 'preact/hooks';

import { getJSON } from '../../lib/api';
import { type Context, FUNCTIONS, contextAt, escapeValue, rank } from './complete';

/** One family of /api/v1/metadata. */
export interface MetricMeta {
    type: string;
    help: string;
    unit: string;
}

interface Props {
    value: string;
    onInput: (v: string) => void;
    onRun: () => void;
    metrics: string[]; // metric names
    metadata: Record<string, MetricMeta[]>; // by family name
}

interface Item {
    text: string; // what is inserted
    label: string; // what is shown
    detail?: string;
}

/** The metadata of a metric name: its family is the name without a type's suffix. */
function metaOf(metadata: Record<string, MetricMeta[]>, name: string): MetricMeta | undefined {
    const m = metadata[name] ?? metadata[name.replace(/_(total|bucket|count|sum|created)$/, '')];
    return m?.[0];
}

/** Label names or values from the API, each URL fetched once per editor. */
function useLabelCache() {
    const cache = useRef(new Map<string, Promise<string[]>>());
    return (path: string, metric: string): Promise<string[]> => {
        const key = `${path}|${metric}`;
        let p = cache.current.get(key);
        if (!p) {
            p = getJSON<{ data: string[] }>(path, metric ? { 'match[]': metric } : {}).then(
                (r) => r.data,
                (e) => {
                    cache.current.delete(key);
                    throw e;
                },
            );
            cache.current.set(key, p);
        }
        return p;
    };
}

export function PromqlEditor({ value, onInput, onRun, metrics, metadata }: Props) {
    const area = useRef<HTMLTextAreaElement>(null);
    const [items, setItems] = useState<Item[]>([]);
    const [ctx, setCtx] = useState<Context>({ kind: 'none' });
    const [active, setActive] = useState(0);
    const [note, setNote] = useState('');
    const seq = useRef(0);
    const caretAfter = useRef<number | null>(null);
    const labelsOf = useLabelCache();
    const open = items.length > 0;

    useEffect(() => {
        if (caretAfter.current === null || !area.current) return;
        area.current.setSelectionRange(caretAfter.current, caretAfter.current);
        caretAfter.current = null;
    });

    useEffect(() => {
        if (open) document.getElementById(`promql-opt-${active}`)?.scrollIntoView({ block: 'nearest' });
    }, [active, open]);

    const close = () => {
        seq.current++;
        setItems([]);
        setNote('');
    };

    /** Works out the context at the caret and what to offer there; force: even for an empty word. */
    const suggest = (text: string, pos: number, force: boolean) => {
        const c = contextAt(text, pos);
        const id = ++seq.current;
        setCtx(c);
        setActive(0);
        setNote('');
        if (c.kind === 'none' || (c.kind === 'metric' && !c.prefix && !force)) {
            setItems([]);
            return;
        }
        if (c.kind === 'metric') {
            const names = rank(metrics, c.prefix, 40).map((m) => {
                const meta = metaOf(metadata, m);
                return { text: m, label: m, detail: meta ? `${meta.type}${meta.help ? ` · ${meta.help}` : ''}` : undefined };
            });
            const fns = rank(FUNCTIONS, c.prefix, 10).map((f) => ({ text: `${f}(`, label: `${f}()`, detail: 'function' }));
            const list = [...names, ...fns];
            setItems(list.length === 1 && list[0].text === c.prefix ? [] : list);
            return;
        }
        const path = c.kind === 'label' ? '/api/v1/labels' : `/api/v1/label/${encodeURIComponent(c.label)}/values`;
        labelsOf(path, c.metric).then(
            (all) => {
                if (id !== seq.current) return;
                const found = rank(c.kind === 'label' ? all.filter((l) => l !== '__name__') : all, c.prefix, 50);
                setItems(
                    c.kind === 'label'
                        ? found.map((l) => ({ text: c.matcher ? `${l}="` : l, label: l, detail: 'label' }))
                        : found.map((v) => ({ text: `${escapeValue(v, c.quote)}${c.quote || '"'}`, label: v, detail: `value of ${c.label}` })),
                );
                if (!found.length) setNote(c.kind === 'label' ? 'No label names to suggest.' : `No values of ${c.label} to suggest.`);
            },
            (e: Error) => id === seq.current && (setItems([]), setNote(`Suggestions failed: ${e.message}`)),
        );
    };

    const accept = (item: Item) => {
        const el = area.current;
        if (!el || ctx.kind === 'none') return;
        const pos = el.selectionStart;
        let end = pos;
        while (ctx.kind !== 'value' && end < value.length && /[A-Za-z0-9_:]/.test(value[end])) end++;
        let text = item.text;
        if (ctx.kind === 'value' && ctx.quote && value[pos] === ctx.quote) end++; // the closing quote is already there
        if (ctx.kind === 'value' && !ctx.quote) text = `"${text}`;
        const next = value.slice(0, ctx.from) + text + value.slice(end);
        const caret = ctx.from + text.length;
        caretAfter.current = caret;
        onInput(next);
        if (ctx.kind === 'label' && ctx.matcher) suggest(next, caret, true); // go on with the label's values
        else close();
    };

    const onKeyDown = (e: KeyboardEvent) => {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            close();
            onRun();
            return;
        }
        if (e.key === ' ' && e.ctrlKey) {
            e.preventDefault();
            const el = e.currentTarget as HTMLTextAreaElement;
            suggest(el.value, el.selectionStart, true);
            return;
        }
        if (!open) return;
        if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length);
        } else if (e.key === 'Enter' || e.key === 'Tab') {
            e.preventDefault();
            accept(items[active]);
        } else if (e.key === 'Escape') {
            e.preventDefault();
            close();
        }
    };

    return (
        <div class="promql-editor">
            <label for="promql">PromQL query</label>
            <textarea
                id="promql"
                ref={area}
                class="mono"
                rows={3}
                spellcheck={false}
                autocomplete="off"
                value={value}
                placeholder="e.g. sum by (job) (rate(http_server_request_duration_seconds_count[5m]))"
                aria-autocomplete="list"
                aria-controls="promql-suggestions"
                aria-activedescendant={open ? `promql-opt-${active}` : undefined}
                aria-describedby="promql-hint"
                onInput={(e) => {
                    const el = e.currentTarget;
                    onInput(el.value);
                    suggest(el.value, el.selectionStart, false);
                }}
                onKeyDown={onKeyDown}
                onBlur={() => window.setTimeout(close, 150)}
            />
            <ul id="promql-suggestions" role="listbox" aria-label="Suggestions" class="promql-suggestions" hidden={!open}>
                {items.map((it, i) => (
                    <li
                        key={`${it.text}-${i}`}
                        id={`promql-opt-${i}`}
                        role="option"
                        aria-selected={i === active}
                        class={i === active ? 'active' : undefined}
                        onMouseDown={(e) => {
                            e.preventDefault();
                            accept(it);
                        }}
                    >
                        <span class="mono">{it.label}</span>
                        {it.detail && <span class="muted"> {it.detail}</span>}
                    </li>
                ))}
            </ul>
            <p id="promql-hint" class="muted">
                Ctrl+Enter runs; Ctrl+Space suggests names; ↑ ↓ and Enter or Tab pick a suggestion, Escape closes the list.
                <span role="status">{note ? ` ${note}` : open ? <span class="visually-hidden"> {items.length} suggestions.</span> : ''}</span>
            </p>
        </div>
    );
}
