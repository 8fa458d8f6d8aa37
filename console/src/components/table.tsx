// A sortable, filterable, paged data table. Columns say how to show and how to sort a row;
// the sort, filter and page live in the URL (under the table's key) so they survive a reload.
// At most PAGE_ROWS rows are rendered at a time, so a table of 20,000 users opens as fast as
// one of twenty.
import type { ComponentChildren } from 'preact';

import { setQuery, useLocation } from '../lib/router';

/** Rows shown on one page of a table. */
export const PAGE_ROWS = 100;

export interface Column<T> {
    key: string; // also the sort key in the URL
    label: string;
    render: (row: T) => ComponentChildren;
    sort?: (row: T) => number | string; // sortable when given
    numeric?: boolean; // right-aligned
}

interface Props<T> {
    id: string; // distinguishes this table's state in the URL ("svc" -> svcSort, svcFilter, svcPage)
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
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
    const page = Math.min(pages, Math.max(1, Math.floor(Number(query.get(`${id}Page`))) || 1));
    const first = (page - 1) * PAGE_ROWS;
    const visible = pages > 1 ? shown.slice(first, first + PAGE_ROWS) : shown;
    // A new sort or filter starts again at the first page.
    const toggle = (key: string) => setQuery({ [`${id}Sort`]: sortKey === key && !desc ? `-${key}` : key, [`${id}Page`]: undefined });
    return (
        <div class="table-wrap">
            {filterText && (
                <div class="toolbar">
                    <label>
                        Filter
                        <input type="search" value={filter} placeholder="Type to filter" onInput={(e) => setQuery({ [`${id}Filter`]: e.currentTarget.value, [`${id}Page`]: undefined })} />
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
                    {visible.map((r) => (
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
            {pages > 1 && (
                <Pager
                    label={`Pages of ${caption ?? 'the table'}`}
                    page={page}
                    pages={pages}
                    first={first}
                    shown={visible.length}
                    total={shown.length}
                    go={(p) => setQuery({ [`${id}Page`]: p > 1 ? p : undefined }, false)}
                />
            )}
        </div>
    );
}

interface PagerProps {
    label: string;
    page: number; // 1-based
    pages: number;
    first: number; // index of the page's first row
    shown: number; // rows on this page
    total: number;
    go: (page: number) => void;
}

/** n with thousands separators: row numbers are exact. */
const exact = (n: number) => n.toLocaleString('en-US');

/** Previous and next page buttons around "Rows a–b of n". */
function Pager({ label, page, pages, first, shown, total, go }: PagerProps) {
    return (
        <nav class="pager" aria-label={label}>
            <button type="button" disabled={page <= 1} onClick={() => go(page - 1)}>
                ← Previous
            </button>
            <span role="status">
                Rows {exact(first + 1)}–{exact(first + shown)} of {exact(total)} (page {page} of {pages})
            </span>
            <button type="button" disabled={page >= pages} onClick={() => go(page + 1)}>
                Next →
            </button>
        </nav>
    );
}
