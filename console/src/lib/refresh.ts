// Auto-refresh: the "refresh" query parameter ("off", "5s", "30s", "1m", ...) makes every
// useApi fetch again on each tick, and relative time ranges move with it. (time.ts and this
// file import each other; both only call the other's functions inside hooks.)
import { useEffect, useState } from 'preact/hooks';

import { useLocation } from './router';
import { durationMs } from './time';

export const REFRESH_CHOICES = ['off', '5s', '10s', '30s', '1m', '5m'];

/** A number that changes at each auto-refresh tick of the current URL's interval. */
export function useRefreshTick(): number {
    const { query } = useLocation();
    const every = durationMs(query.get('refresh') ?? 'off');
    const [tick, setTick] = useState(0);
    useEffect(() => {
        if (!(every >= 1000)) return;
        const t = window.setInterval(() => {
            if (document.visibilityState === 'visible') setTick((n) => n + 1);
        }, every);
        return () => window.clearInterval(t);
    }, [every]);
    return tick;
}
