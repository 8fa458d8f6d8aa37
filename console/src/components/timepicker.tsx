// The time-range picker, auto-refresh picker and theme switch of the header.
import { useState } from 'preact/hooks';

import { REFRESH_CHOICES } from '../lib/refresh';
import { setQuery, useLocation } from '../lib/router';
import { QUICK_RANGES, formatTime, rangeLabel, useTimeRange } from '../lib/time';

/** "2026-11-21T18:04" for a datetime-local input, in local time. */
const localInput = (ms: number) => formatTime(ms).replace(' ', 'T').slice(0, 16);

export function TimePicker() {
    const r = useTimeRange();
    const [open, setOpen] = useState(false);
    const [from, setFrom] = useState('');
    const [to, setTo] = useState('');
    const apply = (f: string, t: string) => {
        setQuery({ from: f, to: t }, false);
        setOpen(false);
    };
    const applyAbsolute = (e: Event) => {
        e.preventDefault();
        const f = Date.parse(from || localInput(r.startMs));
        const t = Date.parse(to || localInput(r.endMs));
        if (f < t) apply(String(f), String(t));
    };
    return (
        <div class="timepicker">
            <button type="button" class="btn" aria-expanded={open} aria-haspopup="dialog" onClick={() => setOpen(!open)} data-testid="timepicker">
                {rangeLabel(r)}
            </button>
            {open && (
                <div class="popover" role="dialog" aria-label="Time range" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
                    <ul class="quick-ranges">
                        {QUICK_RANGES.map(([f, label]) => (
                            <li key={f}>
                                <button type="button" class={`linklike${r.from === f && r.to === 'now' ? ' active' : ''}`} onClick={() => apply(f, 'now')}>
                                    {label}
                                </button>
                            </li>
                        ))}
                    </ul>
                    <form class="absolute-range" onSubmit={applyAbsolute}>
                        <label>
                            From <input type="datetime-local" value={from || localInput(r.startMs)} onInput={(e) => setFrom(e.currentTarget.value)} />
                        </label>
                        <label>
                            To <input type="datetime-local" value={to || localInput(r.endMs)} onInput={(e) => setTo(e.currentTarget.value)} />
                        </label>
                        <button type="submit" class="btn primary">
                            Apply
                        </button>
                    </form>
                </div>
            )}
        </div>
    );
}

export function RefreshPicker() {
    const { query } = useLocation();
    const value = query.get('refresh') ?? 'off';
    return (
        <label class="refresh">
            <span class="visually-hidden">Auto-refresh</span>
            <select value={value} onChange={(e) => setQuery({ refresh: e.currentTarget.value === 'off' ? undefined : e.currentTarget.value })} title="Auto-refresh">
                {REFRESH_CHOICES.map((c) => (
                    <option key={c} value={c}>
                        {c === 'off' ? 'Refresh: off' : `Every ${c}`}
                    </option>
                ))}
            </select>
        </label>
    );
}

type Theme = 'light' | 'dark';
const initialTheme = (): Theme => (localStorage.getItem('osprey-theme') as Theme | null) ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');

/** Applies the saved (or the system's) theme; call once at start-up. */
export function applyTheme(t: Theme = initialTheme()): void {
    document.documentElement.dataset.theme = t;
}

export function ThemeSwitch() {
    const [theme, setTheme] = useState<Theme>(initialTheme);
    const toggle = () => {
        const t = theme === 'dark' ? 'light' : 'dark';
        localStorage.setItem('osprey-theme', t);
        applyTheme(t);
        setTheme(t);
    };
    return (
        <button type="button" class="btn" onClick={toggle} aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
            {theme === 'dark' ? '☀' : '☾'}
        </button>
    );
}
