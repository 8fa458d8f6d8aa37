// Virtual scrolling for long lists of fixed-height rows: only the rows in view (and a few
// around them) are rendered, so a 10,000-span trace scrolls as lightly as a 10-span one.
// Rendered rows are recycled: each sits in one of a fixed number of slots (row index modulo the
// pool size), keyed by its slot and kept in slot order, so scrolling rewrites a slot's content
// and position in place instead of removing and inserting elements.
import type { RefObject } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface VirtualRows {
    first: number; // the first row to render
    last: number; // one past the last
    height: number; // of the scroller's view, px
    /** The window moved past all the rows it held (a fling or a scrollbar drag), and has not
     * settled since: rows may be drawn lighter, every one of them being new each frame. */
    jumping: boolean;
    /** The rows to render as [slot, row] pairs in slot order (key each element by its slot). */
    slots: () => Array<[number, number]>;
    onScroll: (e: Event) => void;
    /** Scrolls so that row i is in view (centred when center, else moved the least). */
    reveal: (i: number, center?: boolean) => void;
}

/** Rows scrolled by between renders: the window of rendered rows moves in steps this big. */
const STEP = 4;
/** How long the window must rest before a jump is over, ms. */
const SETTLE_MS = 120;

/**
 * The rows of a scroller (ref) holding count rows of rowHeight px to render now. Scrolling
 * renders again only when the window moves by STEP rows (overscan rows stay rendered around it).
 */
export function useVirtualRows(ref: RefObject<HTMLElement>, count: number, rowHeight: number, overscan = 2): VirtualRows {
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
    const inView = Math.ceil(height / rowHeight);
    const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
    const last = Math.min(count, Math.floor(top / rowHeight) + inView + STEP + overscan);
    // The window never holds more rows than this, so row modulo pool is a free slot.
    const pool = inView + STEP + 2 * overscan;
    // A jump: the window moved by a pool or more since the last render; over once it rests.
    const [jumping, setJumping] = useState(false);
    const prevFirst = useRef(first);
    const jumped = Math.abs(first - prevFirst.current) >= pool;
    prevFirst.current = first;
    if (jumped && !jumping) setJumping(true);
    useEffect(() => {
        if (!jumping) return;
        const t = setTimeout(() => setJumping(false), SETTLE_MS);
        return () => clearTimeout(t);
    }, [jumping, first]);
    const slots = () => {
        const out: Array<[number, number]> = [];
        for (let k = first; k < last; k++) out.push([k % pool, k]);
        return out.sort((a, b) => a[0] - b[0]);
    };
    return { first, last, height, jumping: jumping || jumped, slots, onScroll, reveal };
}
