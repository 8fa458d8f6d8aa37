// Health of a topology node or edge, shown in words (busy, slow, failing, ok) with a class per
// flag for colour, so that colour is never the only sign.
import './health.css';

import type { Health } from './data';

/** What each flag means, for titles and the legend (the thresholds are the server's flags). */
export const HEALTH_TEXT: Record<Health, string> = {
    ok: 'ok: none of the flags below',
    busy: 'busy: request rate at or above the busy threshold (default 50/s)',
    slow: 'slow: p95 latency at or above the slow threshold (default 800 ms)',
    failing: 'failing: error rate at or above the failing threshold (default 5%)',
};

/** The flag that colours a node or edge: failing over slow over busy. */
export function worstHealth(h: Health[]): Health {
    for (const f of ['failing', 'slow', 'busy'] as const) if (h.includes(f)) return f;
    return 'ok';
}

/** The health flags as small labelled badges. */
export function HealthBadges({ health }: { health: Health[] }) {
    const flags = health.length ? health : (['ok'] as Health[]);
    return (
        <span class="health-badges">
            {flags.map((f) => (
                <span key={f} class={`health-badge health-${f}`} title={HEALTH_TEXT[f]}>
                    {f}
                </span>
            ))}
        </span>
    );
}

/** Sorting key of a health list: failing first when sorted descending. */
export const healthRank = (h: Health[]) => ({ ok: 0, busy: 1, slow: 2, failing: 3 })[worstHealth(h)];
