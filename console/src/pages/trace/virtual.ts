// Virtual scrolling for long lists of fixed-height rows: only the rows in view (and a few
// around them) are rendered, so a 10,000-span trace scrolls as lightly as a 10-span one.
import type { RefObject } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

export interface VirtualRows {
    first: number; // the first row to render
    last: number; // one past the last
    height: number; // of the scroller's view, px
    onScroll: (e: Event) => void;
    /** Scrolls so that row i is in view (centred when center, else moved the least). */
    reveal: (i: number, center?: boolean) => void;
}

/** Rows scrolled by between renders: the window of rendered rows moves in steps this big. */
const STEP = 8;

/**
 * The rows of a scroller (ref) holding count rows of rowHeight px to render now. Scrolling
 * renders again only when the window moves by STEP rows (overscan rows stay rendered around it).
 */
export function useVirtualRows(ref: RefObject<HTMLElement>, count: number, rowHeight: number, overscan = 12): VirtualRows {
    const [top, setTopPx] = useState(0);
    const setTop = useCallback((px: number) => setTopPx(Math.floor(px / rowHeight / STEP) * STEP * rowHeight), [rowHeight]);
    const [height, setHeight] = useState(600);
    useEffect(() => {
        const el = ref.current;
        if (!el) return;
        setHeight(el.clientHeight);
        const ro = new ResizeObserver(() => setHeight(el.clientHeight));
        ro.observe(el);
        return () => ro.disconnect();
    }, [ref.current]);
    const onScroll = useCallback((e: Event) => setTop((e.currentTarget as HTMLElement).scrollTop), [setTop]);
    const reveal = useCallback(
        (i: number, center = false) => {
            const el = ref.current;
            if (!el || i < 0) return;
            const y = i * rowHeight;
            const view = el.clientHeight;
            let t = el.scrollTop;
            if (center) t = y - view / 2;
            else if (y < t) t = y;
            else if (y + rowHeight > t + view) t = y + rowHeight - view;
            t = Math.max(0, t);
            if (t !== el.scrollTop) {
                el.scrollTop = t;
                setTop(el.scrollTop);
            }
        },
        [ref, rowHeight, setTop],
    );
    const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
    const last = Math.min(count, Math.ceil((top + height) / rowHeight) + STEP + overscan);
    return { first, last, height, onScroll, reveal };
}
