// A row of tabs (the WAI-ARIA tabs pattern): one button per choice, arrow keys, Home and End
// move between them; the caller keeps the choice in the URL.
import type { ComponentChildren } from 'preact';

interface Props<T extends string> {
    id: string; // prefix of the tabs' and panel's element ids
    label: string; // the tab list's accessible name
    choices: Array<[value: T, label: string]>;
    value: T;
    onChange: (v: T) => void;
    children: ComponentChildren; // the panel
}

/** Tabs over one panel, which shows what the chosen tab names. */
export function Tabs<T extends string>({ id, label, choices, value, onChange, children }: Props<T>) {
    const onKey = (e: KeyboardEvent) => {
        const i = choices.findIndex(([v]) => v === value);
        const n = choices.length;
        const to = e.key === 'ArrowRight' ? (i + 1) % n : e.key === 'ArrowLeft' ? (i - 1 + n) % n : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : -1;
        if (to < 0) return;
        e.preventDefault();
        onChange(choices[to][0]);
        window.requestAnimationFrame(() => document.getElementById(`${id}-tab-${choices[to][0]}`)?.focus());
    };
    return (
        <div class="tabs">
            <div role="tablist" aria-label={label} class="tablist" onKeyDown={onKey}>
                {choices.map(([v, text]) => (
                    <button
                        key={v}
                        type="button"
                        role="tab"
                        id={`${id}-tab-${v}`}
                        aria-selected={v === value}
                        aria-controls={`${id}-panel`}
                        tabIndex={v === value ? 0 : -1}
                        class={v === value ? 'tab active' : 'tab'}
                        onClick={() => onChange(v)}
                    >
                        {text}
                    </button>
                ))}
            </div>
            <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${value}`} class="tabpanel">
                {children}
            </div>
        </div>
    );
}
