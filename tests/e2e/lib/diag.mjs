// The OpenTelemetry JS SDK's own warnings and errors (partial success is reported there),
// captured once per process: the SDK's diag logger is global.
import { diag, DiagLogLevel } from '@opentelemetry/api';

let diagLines = null;

/** Installs the capturing logger on first use; returns the array its lines go to. */
export function captureDiag() {
    if (!diagLines) {
        diagLines = [];
        const push = (level) => (...args) => diagLines.push(`${level}: ${args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
        diag.setLogger({ error: push('error'), warn: push('warn'), info() {}, debug() {}, verbose() {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    }
    return diagLines;
}
