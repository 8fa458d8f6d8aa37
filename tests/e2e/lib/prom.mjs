// A strict reader of the Prometheus text exposition format, enough to check /metrics.

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * Parses exposition text into [{name, labels, value}]. Throws naming the first line that
 * is not a comment, a blank line or a well-formed sample.
 */
export function parseProm(text) {
    const out = [];
    text.split('\n').forEach((line, i) => {
        if (line === '' || line.startsWith('#')) return;
        const m = LINE.exec(line);
        if (!m) throw new Error(`metrics line ${i + 1} is not a sample: ${JSON.stringify(line)}`);
        const labels = {};
        if (m[3]) {
            LABEL.lastIndex = 0;
            while (LABEL.lastIndex < m[3].length) {
                const at = LABEL.lastIndex;
                const l = LABEL.exec(m[3]);
                if (!l || LABEL.lastIndex === at) throw new Error(`metrics line ${i + 1}: bad labels: ${JSON.stringify(line)}`);
                labels[l[1]] = l[2];
            }
        }
        const value = Number(m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : m[4]);
        if (Number.isNaN(value) && m[4] !== 'NaN') throw new Error(`metrics line ${i + 1}: bad value: ${JSON.stringify(line)}`);
        out.push({ name: m[1], labels, value });
    });
    return out;
}
