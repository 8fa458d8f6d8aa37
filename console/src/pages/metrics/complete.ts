// What the PromQL editor can complete at the caret: a metric or function name, a label name
// inside {...} or by (...), or a label value after a matcher's operator. Pure text functions.

/** PromQL's functions and aggregation operators, offered beside metric names. */
export const FUNCTIONS = [
    'abs', 'absent', 'absent_over_time', 'avg', 'avg_over_time', 'bottomk', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'count',
    'count_over_time', 'count_values', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'group',
    'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters', 'hour',
    'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'max', 'max_over_time', 'min',
    'min_over_time', 'minute', 'month', 'predict_linear', 'present_over_time', 'quantile', 'quantile_over_time', 'rate', 'resets', 'round',
    'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt', 'stddev', 'stddev_over_time', 'stdvar', 'stdvar_over_time', 'sum', 'sum_over_time', 'time',
    'timestamp', 'topk', 'vector', 'year',
];

/** Keywords whose parenthesis holds label names. */
const LABEL_LIST_KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'];

export type Context =
    | { kind: 'none' }
    | { kind: 'metric'; prefix: string; from: number } // a name at the top level; from: where the word starts
    | { kind: 'label'; metric: string; prefix: string; from: number; matcher: boolean } // a label name (metric: of the selector, or ''); matcher: in {...}
    | { kind: 'value'; metric: string; label: string; prefix: string; from: number; quote: string }; // quote: the open quote, '' before one

const isWord = (c: string) => /[A-Za-z0-9_:]/.test(c);

/** The identifier that ends at end (exclusive), skipping spaces before it: [word, its start]. */
function wordBefore(text: string, end: number): [string, number] {
    let e = end;
    while (e > 0 && /\s/.test(text[e - 1])) e--;
    let s = e;
    while (s > 0 && isWord(text[s - 1])) s--;
    return [text.slice(s, e), s];
}

/** The completion context at pos of text. */
export function contextAt(text: string, pos: number): Context {
    const stack: Array<{ ch: string; at: number }> = [];
    let quote = '';
    let quoteAt = -1;
    for (let i = 0; i < pos; i++) {
        const c = text[i];
        if (quote) {
            if (c === '\\' && quote !== '`') i++;
            else if (c === quote) quote = '';
            continue;
        }
        if (c === '"' || c === "'" || c === '`') {
            quote = c;
            quoteAt = i;
        } else if (c === '#') {
            const nl = text.indexOf('\n', i);
            if (nl < 0 || nl >= pos) return { kind: 'none' };
            i = nl;
        } else if (c === '{' || c === '(' || c === '[') stack.push({ ch: c, at: i });
        else if (c === '}' || c === ')' || c === ']') stack.pop();
    }
    const top = stack[stack.length - 1];
    const metricOf = (brace: number) => wordBefore(text, brace)[0];
    if (quote) {
        if (top?.ch !== '{') return { kind: 'none' };
        const op = /(=~|!~|!=|=)\s*$/.exec(text.slice(top.at + 1, quoteAt));
        if (!op) return { kind: 'none' };
        const [label] = wordBefore(text, quoteAt - op[0].length);
        return label ? { kind: 'value', metric: metricOf(top.at), label, prefix: text.slice(quoteAt + 1, pos), from: quoteAt + 1, quote } : { kind: 'none' };
    }
    let from = pos;
    while (from > 0 && isWord(text[from - 1])) from--;
    const prefix = text.slice(from, pos);
    let before = from;
    while (before > 0 && /\s/.test(text[before - 1])) before--;
    const prev = text[before - 1] ?? '';
    if (top?.ch === '{') {
        if (prev === '{' || prev === ',') return { kind: 'label', metric: metricOf(top.at), prefix, from, matcher: true };
        const op = /(=~|!~|!=|=)$/.exec(text.slice(top.at + 1, before));
        if (op && !prefix) {
            const [label] = wordBefore(text, before - op[0].length);
            if (label) return { kind: 'value', metric: metricOf(top.at), label, prefix: '', from: pos, quote: '' };
        }
        return { kind: 'none' };
    }
    if (top?.ch === '[') return { kind: 'none' };
    if (top?.ch === '(' && LABEL_LIST_KEYWORDS.includes(wordBefore(text, top.at)[0])) return { kind: 'label', metric: '', prefix, from, matcher: false };
    if (/^[0-9]/.test(prefix)) return { kind: 'none' };
    return { kind: 'metric', prefix, from };
}

/** The items of list that match prefix: those starting with it first, then those containing it. */
export function rank(list: string[], prefix: string, max = 50): string[] {
    const p = prefix.toLowerCase();
    const starts: string[] = [];
    const contains: string[] = [];
    for (const s of list) {
        const l = s.toLowerCase();
        if (l.startsWith(p)) starts.push(s);
        else if (p && l.includes(p)) contains.push(s);
        if (starts.length >= max) break;
    }
    return [...starts, ...contains].slice(0, max);
}

/** v as the inside of a PromQL string opened with quote (double quotes when none). */
export function escapeValue(v: string, quote: string): string {
    if (quote === '`') return v;
    const q = quote || '"';
    return v.replace(/\\/g, '\\\\').replace(new RegExp(q, 'g'), `\\${q}`).replace(/\n/g, '\\n');
}
