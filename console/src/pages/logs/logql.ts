// LogQL text helpers of the Logs page: adding a label matcher to a query's stream selector, the
// query that finds the lines of a mined pattern, the histogram's metric query, and a line's level.

/** The query of the page when the URL names none: every stream. */
export const DEFAULT_QUERY = '{service_name=~".+"}';

/** The label matcher operators of a stream selector. */
export const MATCH_OPS = ['=', '!=', '=~', '!~'] as const;
export type MatchOp = (typeof MATCH_OPS)[number];

/** s as a LogQL double-quoted string (Go escapes, which JSON's are a subset of). */
export const quote = (s: string) => JSON.stringify(s);

/** Index of the first c in text at or after from that is outside quoted strings; -1 if none. */
function indexOutsideQuotes(text: string, c: string, from = 0): number {
    let q = '';
    for (let i = from; i < text.length; i++) {
        const ch = text[i];
        if (q) {
            if (ch === '\\' && q !== '`') i++;
            else if (ch === q) q = '';
        } else if (ch === '"' || ch === '`') q = ch;
        else if (ch === c) return i;
    }
    return -1;
}

/** Splits a selector's inside ("a="x", b=~"y"") at the commas outside quotes. */
function splitMatchers(inside: string): string[] {
    const out: string[] = [];
    let from = 0;
    for (;;) {
        const i = indexOutsideQuotes(inside, ',', from);
        out.push(inside.slice(from, i < 0 ? undefined : i).trim());
        if (i < 0) return out.filter(Boolean);
        from = i + 1;
    }
}

/**
 * query with the matcher name op "value" added to its (first) stream selector; a catch-all
 * matcher on the same label (name=~".+") is replaced. Without a selector, one is put first.
 */
export function addMatcher(query: string, name: string, op: MatchOp, value: string): string {
    const m = `${name}${op}${quote(value)}`;
    const t = query.trim();
    const open = indexOutsideQuotes(t, '{');
    const close = open < 0 ? -1 : indexOutsideQuotes(t, '}', open + 1);
    if (close < 0) return t ? `{${m}} ${t}` : `{${m}}`;
    const kept = splitMatchers(t.slice(open + 1, close)).filter((x) => x.replace(/\s+/g, '') !== `${name}=~".+"`);
    return `${t.slice(0, open)}{${[...kept, m].join(', ')}}${t.slice(close + 1)}`;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');

/**
 * A log query for the lines of a mined pattern of service: the template as an anchored regular
 * expression, each <*> (a masked token) matching anything.
 */
export function patternQuery(service: string, pattern: string): string {
    const re = `(?s)^${pattern.split('<*>').map(escapeRe).join('.*?')}$`;
    const lit = re.includes('`') ? quote(re) : `\`${re}\``;
    return `{service_name=${quote(service)}} |~ ${lit}`;
}

/**
 * The metric query of the histogram: the lines of query counted per stepSeconds, by detected
 * level. Parser errors are dropped as labels so that lines a parser fails on still count.
 */
export function histogramQuery(query: string, stepSeconds: number): string {
    return `sum by (detected_level) (count_over_time(${query.trim()}\n| drop __error__, __error_details__ [${stepSeconds}s]))`;
}

/** The levels of Loki's detected_level, least severe first, and "unknown". */
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'unknown'] as const;
export type Level = (typeof LEVELS)[number];

const LEVEL_ALIASES: Record<string, Level> = {
    warning: 'warn',
    err: 'error',
    critical: 'fatal',
    crit: 'fatal',
    panic: 'fatal',
    emerg: 'fatal',
    emergency: 'fatal',
    alert: 'fatal',
    information: 'info',
    notice: 'info',
    dbg: 'debug',
};

/** A level name as one of LEVELS ("unknown" when it is none). */
export function normalLevel(raw: string | undefined): Level {
    const l = (raw ?? '').trim().toLowerCase();
    if ((LEVELS as readonly string[]).includes(l)) return l as Level;
    return LEVEL_ALIASES[l] ?? 'unknown';
}

/** The level of a line from its labels: detected_level, else level, else severity_text. */
export const levelOf = (labels: Record<string, string>): Level => normalLevel(labels.detected_level || labels.level || labels.severity_text || labels.severity);
