// Colours per service for the waterfall and the flame graph, taken from the theme's chart
// colours (--chart-1..5, red last: it is also the colour of errors); past five services, the
// same colours with their hue turned, so the lightness (and so the contrast with the
// background) stays the theme's. Follows theme switches.
import { useMemo } from 'preact/hooks';

import { cssVar, useThemeVersion } from '../../lib/theme';

/** #rrggbb -> [h 0..360, s 0..1, l 0..1]; null when not a 6-digit hex colour. */
function hexToHsl(hex: string): [number, number, number] | null {
    const m = /^#([0-9a-f]{6})$/i.exec(hex);
    if (!m) return null;
    const n = parseInt(m[1], 16);
    const r = (n >> 16) / 255;
    const g = ((n >> 8) & 255) / 255;
    const b = (n & 255) / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const l = (max + min) / 2;
    const d = max - min;
    if (d === 0) return [0, 0, l];
    const s = d / (1 - Math.abs(2 * l - 1));
    const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    return [(h * 60 + 360) % 360, s, l];
}

/** The i-th colour of the palette of the current theme. */
function paletteColour(base: string[], i: number): string {
    const c = base[i % base.length];
    const turn = Math.floor(i / base.length);
    if (turn === 0) return c;
    const hsl = hexToHsl(c);
    if (!hsl) return c;
    const h = (hsl[0] + turn * 37) % 360;
    return `hsl(${h.toFixed(0)} ${(hsl[1] * 100).toFixed(0)}% ${(hsl[2] * 100).toFixed(0)}%)`;
}

/** A colour per service (in the order given), for the current theme. */
export function useServiceColours(services: string[]): Map<string, string> {
    const theme = useThemeVersion();
    return useMemo(() => {
        const base = [1, 3, 5, 4, 2].map((i) => cssVar(`--chart-${i}`) || cssVar('--accent'));
        return new Map(services.map((s, i) => [s, paletteColour(base, i)]));
    }, [services, theme]);
}
