// Captured prompt and completion texts, shown as plain text (never as HTML): a JSON list of
// chat messages becomes one block per message with its role, anything else is shown as it
// was sent. Long texts are collapsed; which ones are open lives in the URL.
import type { ComponentChildren } from 'preact';

import { formatNumber } from '../../lib/format';
import { setQuery, useLocation } from '../../lib/router';

/** A chat message as shown: its role and its content as text. */
export interface Message {
    role: string;
    text: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text of one content part (OpenAI's {type, text}, OTel's {type, content}), else its JSON. */
function partText(p: unknown): string {
    if (typeof p === 'string') return p;
    if (isObject(p)) {
        if (typeof p.text === 'string') return p.text;
        if (typeof p.content === 'string') return p.content;
        if (p.type === 'tool_call' && typeof p.name === 'string') return `→ ${p.name}(${p.arguments === undefined ? '' : JSON.stringify(p.arguments)})`;
    }
    return JSON.stringify(p);
}

/** A message's content: a string, a list of parts (content or OTel's parts), else its JSON. */
function contentText(m: Record<string, unknown>): string {
    const c = m.parts ?? m.content;
    if (typeof c === 'string') return c;
    if (Array.isArray(c)) return c.map(partText).join('\n');
    return c === undefined || c === null ? '' : JSON.stringify(c);
}

/**
 * The messages of text when it is a JSON list of {role, content} (or {role, parts}) objects,
 * as gen_ai.input.messages and the flattened conventions carry them; null otherwise (plain
 * text, or JSON cut short by the 4 KiB limit).
 */
export function parseMessages(text: string): Message[] | null {
    const t = text.trim();
    if (!t.startsWith('[')) return null;
    let v: unknown;
    try {
        v = JSON.parse(t);
    } catch {
        return null;
    }
    if (!Array.isArray(v) || v.length === 0 || !v.every((m) => isObject(m) && typeof m.role === 'string')) return null;
    return (v as Array<Record<string, unknown>>).map((m) => ({ role: m.role as string, text: contentText(m) }));
}

/** The ids listed in query parameter name (comma-separated), and a function toggling one. */
export function useQuerySet(name: string): [Set<string>, (id: string) => void] {
    const { query } = useLocation();
    const set = new Set((query.get(name) ?? '').split(',').filter(Boolean));
    const toggle = (id: string) => {
        const next = new Set(set);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        setQuery({ [name]: [...next].join(',') });
    };
    return [set, toggle];
}

const COLLAPSE_CHARS = 500;
const COLLAPSE_LINES = 8;

/** Whether text is long enough to be shown collapsed. */
const isLong = (text: string) => text.length > COLLAPSE_CHARS || text.split('\n').length > COLLAPSE_LINES;

/**
 * A captured text (under a heading when labelled): messages by role when it parses as a message list, else
 * the text itself, collapsed when long, with a button to open it fully.
 */
export function CapturedText({ id, label, text, open, onToggle }: { id: string; label?: string; text: string; open: boolean; onToggle: () => void }) {
    if (!text) {
        return (
            <div class="captured">
                {label && <h4>{label}</h4>}
                <p class="muted">Not captured.</p>
            </div>
        );
    }
    const messages = parseMessages(text);
    const long = isLong(text);
    let body: ComponentChildren;
    if (messages) {
        body = (
            <ol class="messages">
                {messages.map((m, i) => (
                    <li key={i} class={`message role-${m.role.replace(/[^a-z_-]/gi, '')}`}>
                        <span class="role">{m.role}</span>
                        <pre class="text">{m.text}</pre>
                    </li>
                ))}
            </ol>
        );
    } else {
        body = <pre class="text">{text}</pre>;
    }
    return (
        <div class="captured">
            {label && <h4>{label}</h4>}
            <div id={id} class={`captured-body${long && !open ? ' collapsed' : ''}`}>
                {body}
            </div>
            {long && (
                <button type="button" class="linklike" aria-expanded={open} aria-controls={id} onClick={onToggle}>
                    {open ? 'Show less' : `Show all (${formatChars(text.length)})`}
                </button>
            )}
        </div>
    );
}

const formatChars = (n: number) => (n === 1 ? '1 character' : `${formatNumber(n)} characters`);
