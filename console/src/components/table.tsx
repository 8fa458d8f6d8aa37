// A sortable, filterable data table. Columns say how to show and how to sort a row; the
// sort and filter live in the URL (under the table's key) so they survive a reload.
import type { ComponentChildren } from 'preact';

import { setQuery, useLocation } from '../lib/router';

export interface Column<T> {
    key: string; // also the sort key in the URL
    label: string;
    render: (row: T) => ComponentChildren;
    sort?: (row: T) => number | string; // sortable when given
    numeric?: boolean; // right-aligned
}

interface Props<T> {
    id: string; // distinguishes this table's sort/filter in the URL ("svc" -> svcSort, svcFilter)
    columns: Array<Column<T>>;
    rows: T[];
    rowKey: (row: T) => string;
    filterText?: (row: T) => string; // enables the filter box
    defaultSort?: string; // a column key, "-key" for descending
    caption?: string;
    empty?: ComponentChildren;
}

export function Table<T>({ id, columns, rows, rowKey, filterText, defaultSort, caption, empty }: Props<T>) {
    const { query } = useLocation();
    const sortParam = query.get(`${id}Sort`) ?? defaultSort ?? '';
    const filter = query.get(`${id}Filter`) ?? '';
    const desc = sortParam.startsWith('-');
    const sortKey = desc ? sortParam.slice(1) : sortParam;
    const col = columns.find((c) => c.key === sortKey && c.sort);
    let shown = filter && filterText ? rows.filter((r) => filterText(r).toLowerCase().includes(filter.toLowerCase())) : rows;
    if (col?.sort) {
        const f = col.sort;
        shown = [...shown].sort((a, b) => {
            const x = f(a);
            const y = f(b);
            const d = typeof x === 'number' && typeof y === 'number' ? (Number.isNaN(x) ? -Infinity : x) - (Number.isNaN(y) ? -Infinity : y) : String(x).localeCompare(String(y));
            return desc ? -d : d;
        });
    }
    const toggle = (key: string) => setQuery({ [`${id}Sort`]: sortKey === key && !desc ? `-${key}` : key });
    return (
        <div class="table-wrap">
            {filterText && (
                <div class="toolbar">
                    <label>
                        Filter
                        <input type="search" value={filter} placeholder="Type to filter" onInput={(e) => setQuery({ [`${id}Filter`]: e.currentTarget.value })} />
                    </label>
                    <span class="muted">
                        {shown.length} of {rows.length}
                    </span>
                </div>
            )}
            <table class="data">
                {caption && <caption class="visually-hidden">{caption}</caption>}
                <thead>
                    <tr>
                        {columns.map((c) => (
                            <th
                                key={c.key}
                                scope="col"
                                class={c.numeric ? 'num' : undefined}
                                aria-sort={c.key === sortKey ? (desc ? 'descending' : 'ascending') : undefined}
                            >
                                {c.sort ? (
                                    <button type="button" onClick={() => toggle(c.key)}>
                                        {c.label}
                                        {c.key === sortKey ? (desc ? ' ▼' : ' ▲') : ''}
                                    </button>
                                ) : (
                                    c.label
                                )}
                            </th>
                        ))}
                    </tr>
                </thead>
                <tbody>
                    {shown.map((r) => (
                        <tr key={rowKey(r)}>
                            {columns.map((c) => (
                                <td key={c.key} class={c.numeric ? 'num' : undefined}>
                                    {c.render(r)}
                                </td>
                            ))}
                        </tr>
                    ))}
                    {shown.length === 0 && (
                        <tr>
                            <td colSpan={columns.length} class="muted">
                                {empty ?? (filter ? `Nothing matches "${filter}".` : 'Nothing to show.')}
                            </td>
                        </tr>
                    )}
                </tbody>
            </table>
        </div>
    );
}
