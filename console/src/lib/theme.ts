// The theme as code sees it: CSS variables read from the document, and a hook that changes
// when the theme (html[data-theme]) does, for what is drawn outside CSS (canvas, charts).
import { useEffect, useMemo, useState } from 'preact/hooks';

/** The value of CSS variable name (e.g. '--fg') on the document, trimmed. */
export const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** A number that changes whenever the theme (html[data-theme]) changes. */
export function useThemeVersion(): number {
    const [v, setV] = useState(0);
    useEffect(() => {
        const mo = new MutationObserver(() => setV((n) => n + 1));
        mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
        return () => mo.disconnect();
    }, []);
    return v;
}

/** Theme colours by variable name (for canvas drawing), re-read when the theme changes. */
export function useThemeColours<K extends string>(names: readonly K[]): Record<K, string> {
    const theme = useThemeVersion();
    return useMemo(() => Object.fromEntries(names.map((n) => [n, cssVar(`--${n}`)])) as Record<K, string>, [theme, names.join()]);
}
