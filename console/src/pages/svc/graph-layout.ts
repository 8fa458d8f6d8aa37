// A small layered (Sugiyama-style) layout of a directed graph, flowing left to right, for the
// service graph of the Topology page:
//   1. cycles are broken by reversing the back edges of a depth-first search from the sources;
//   2. each node's layer (column) is its longest path from a source;
//   3. an edge spanning several layers gets a bend point in each layer between, so that it
//      takes part in the ordering and does not run through nodes;
//   4. the order within each layer comes from barycenter sweeps (down, then up), each followed
//      by swaps of neighbours that remove crossings, keeping the order with the fewest seen;
//   5. y positions pull each node toward the mean of its neighbours' while keeping the order
//      and a minimum gap (an isotonic regression, solved exactly by pooling adjacent violators).

export interface LayoutOptions {
    layerGap: number; // horizontal distance between layers
    rowGap: number; // least vertical distance between two nodes of a layer
    bendGap: number; // least vertical distance between two bend points (half rowGap between a bend and a node)
    margin: number;
}

export interface Point {
    x: number;
    y: number;
}

export interface GraphLayout {
    nodes: Map<string, Point & { layer: number }>;
    /** Per input edge: the points from its source to its target, bends included. */
    edges: Point[][];
    /** Per input edge: whether it was reversed to break a cycle (it flows right to left). */
    reversed: boolean[];
    width: number;
    height: number;
}

const SWEEPS = 24;
const PLACEMENT_ROUNDS = 12;

/** Lays out the nodes ids and the edges [source, target] between them (unknown ids are ignored). */
export function layeredLayout(ids: string[], edges: Array<[string, string]>, opt: LayoutOptions): GraphLayout {
    const n = ids.length;
    const index = new Map(ids.map((id, i) => [id, i]));

    // Distinct pairs, self-loops left out.
    const out: Array<Set<number>> = ids.map(() => new Set());
    const indeg = new Array<number>(n).fill(0);
    for (const [a, b] of edges) {
        const u = index.get(a);
        const v = index.get(b);
        if (u === undefined || v === undefined || u === v || out[u].has(v)) continue;
        out[u].add(v);
        indeg[v]++;
    }

    // 1. Back edges of a DFS from the sources (then from whatever is left, in id order).
    const back = new Set<string>();
    const state = new Array<number>(n).fill(0); // 0 new, 1 on the stack, 2 done
    const roots = [...ids.keys()].sort((a, b) => Number(indeg[a] > 0) - Number(indeg[b] > 0));
    for (const root of roots) {
        if (state[root]) continue;
        const stack: Array<[number, number[]]> = [[root, [...out[root]]]];
        state[root] = 1;
        while (stack.length) {
            const top = stack[stack.length - 1];
            const v = top[1].shift();
            if (v === undefined) {
                state[top[0]] = 2;
                stack.pop();
            } else if (state[v] === 1) back.add(`${top[0]}>${v}`);
            else if (state[v] === 0) {
                state[v] = 1;
                stack.push([v, [...out[v]]]);
            }
        }
    }
    const dag: Array<[number, number]> = [];
    const seen = new Set<string>();
    out.forEach((targets, u) =>
        targets.forEach((v) => {
            const [a, b] = back.has(`${u}>${v}`) ? [v, u] : [u, v];
            if (!seen.has(`${a}>${b}`)) {
                seen.add(`${a}>${b}`);
                dag.push([a, b]);
            }
        }),
    );

    // 2. Longest path layering, in topological order.
    const succ: number[][] = ids.map(() => []);
    const inDag = new Array<number>(n).fill(0);
    for (const [a, b] of dag) {
        succ[a].push(b);
        inDag[b]++;
    }
    const layer = new Array<number>(n).fill(0);
    const queue = [...ids.keys()].filter((v) => inDag[v] === 0);
    for (let qi = 0; qi < queue.length; qi++) {
        const u = queue[qi];
        for (const v of succ[u]) {
            layer[v] = Math.max(layer[v], layer[u] + 1);
            if (--inDag[v] === 0) queue.push(v);
        }
    }

    // 3. Bend points: vertices n, n+1, ... on the layers an edge crosses.
    const vLayer = [...layer];
    const up: number[][] = ids.map(() => []);
    const down: number[][] = ids.map(() => []);
    const chains = new Map<string, number[]>();
    const link = (a: number, b: number) => {
        down[a].push(b);
        up[b].push(a);
    };
    for (const [a, b] of dag) {
        const chain = [a];
        for (let l = layer[a] + 1; l < layer[b]; l++) {
            const d = vLayer.length;
            vLayer.push(l);
            up.push([]);
            down.push([]);
            link(chain[chain.length - 1], d);
            chain.push(d);
        }
        link(chain[chain.length - 1], b);
        chain.push(b);
        chains.set(`${a}>${b}`, chain);
    }
    const nLayers = Math.max(0, ...vLayer) + 1;
    const layers: number[][] = Array.from({ length: nLayers }, () => []);
    vLayer.forEach((l, v) => layers[l].push(v));

    // 4. Order by barycenter sweeps.
    const pos = new Array<number>(vLayer.length).fill(0);
    const setPos = () => layers.forEach((vs) => vs.forEach((v, i) => (pos[v] = i)));
    setPos();
    const crossings = () => {
        let c = 0;
        for (let l = 0; l + 1 < nLayers; l++) {
            const segs: Array<[number, number]> = [];
            for (const u of layers[l]) for (const v of down[u]) segs.push([pos[u], pos[v]]);
            for (let i = 0; i < segs.length; i++)
                for (let j = i + 1; j < segs.length; j++) if ((segs[i][0] - segs[j][0]) * (segs[i][1] - segs[j][1]) < 0) c++;
        }
        return c;
    };
    let best = layers.map((vs) => [...vs]);
    let bestCrossings = crossings();
    for (let it = 0; it < SWEEPS && bestCrossings > 0; it++) {
        const downward = it % 2 === 0;
        const order = downward ? [...Array(nLayers).keys()].slice(1) : [...Array(nLayers).keys()].reverse().slice(1);
        for (const l of order) {
            const bary = (v: number) => {
                const nb = downward ? up[v] : down[v];
                return nb.length ? nb.reduce((s, u) => s + pos[u], 0) / nb.length : pos[v];
            };
            const keyed = layers[l].map((v) => [v, bary(v)] as const);
            keyed.sort((a, b) => a[1] - b[1] || pos[a[0]] - pos[b[0]]);
            layers[l] = keyed.map(([v]) => v);
            layers[l].forEach((v, i) => (pos[v] = i));
        }
        transpose(layers, pos, up, down);
        const c = crossings();
        if (c < bestCrossings) {
            bestCrossings = c;
            best = layers.map((vs) => [...vs]);
        }
    }
    best.forEach((vs, l) => (layers[l] = vs));
    setPos();

    // 5. y: toward the neighbours' mean, order and gaps kept.
    const isBend = (v: number) => v >= n;
    const gap = (a: number, b: number) => {
        const bends = Number(isBend(a)) + Number(isBend(b));
        return bends === 2 ? opt.bendGap : bends === 1 ? Math.max(opt.bendGap, opt.rowGap / 2) : opt.rowGap;
    };
    const y = new Array<number>(vLayer.length).fill(0);
    for (const vs of layers) {
        let acc = 0;
        vs.forEach((v, i) => {
            if (i) acc += gap(vs[i - 1], v);
            y[v] = acc;
        });
    }
    for (let round = 0; round < PLACEMENT_ROUNDS; round++) {
        const ls = round % 2 === 0 ? [...Array(nLayers).keys()] : [...Array(nLayers).keys()].reverse();
        for (const l of ls) {
            const vs = layers[l];
            const want = vs.map((v) => {
                const nb = [...up[v], ...down[v]];
                return nb.length ? nb.reduce((s, u) => s + y[u], 0) / nb.length : y[v];
            });
            placeInOrder(vs, want, gap).forEach((yy, i) => (y[vs[i]] = yy));
        }
    }
    const top = Math.min(...y);
    const x = (l: number) => opt.margin + l * opt.layerGap;
    const at = (v: number): Point => ({ x: x(vLayer[v]), y: y[v] - top + opt.margin });

    const nodes = new Map<string, Point & { layer: number }>();
    ids.forEach((id, v) => nodes.set(id, { ...at(v), layer: layer[v] }));
    const reversed: boolean[] = [];
    const paths = edges.map(([a, b]) => {
        const u = index.get(a);
        const v = index.get(b);
        if (u === undefined || v === undefined || u === v) {
            reversed.push(false);
            return [];
        }
        const fwd = chains.get(`${u}>${v}`);
        reversed.push(!fwd);
        const chain = fwd ?? [...(chains.get(`${v}>${u}`) ?? [v, u])].reverse();
        return chain.map(at);
    });
    const height = Math.max(...y) - top + 2 * opt.margin;
    return { nodes, edges: paths, reversed, width: x(nLayers - 1) + opt.margin, height: Number.isFinite(height) ? height : 2 * opt.margin };
}

/** Swaps neighbours within each layer while that lowers the crossings of their edges. */
function transpose(layers: number[][], pos: number[], up: number[][], down: number[][]): void {
    // Crossings between the edges of u and those of v (u above v) toward one neighbouring layer.
    const cross = (nu: number[], nv: number[]) => {
        let c = 0;
        for (const a of nu) for (const b of nv) if (pos[a] > pos[b]) c++;
        return c;
    };
    const pair = (u: number, v: number) => cross(up[u], up[v]) + cross(down[u], down[v]);
    for (let improved = true, rounds = 0; improved && rounds < 8; rounds++) {
        improved = false;
        for (const vs of layers)
            for (let i = 0; i + 1 < vs.length; i++) {
                const u = vs[i];
                const v = vs[i + 1];
                if (pair(v, u) < pair(u, v)) {
                    vs[i] = v;
                    vs[i + 1] = u;
                    pos[v] = i;
                    pos[u] = i + 1;
                    improved = true;
                }
            }
    }
}

/**
 * Positions for the vertices vs (in this order) as close as possible to want (least squares)
 * with at least gap(vs[i-1], vs[i]) between neighbours: with c the cumulated gaps, z = y - c
 * must not decrease, which pooling adjacent violators solves exactly.
 */
function placeInOrder(vs: number[], want: number[], gap: (a: number, b: number) => number): number[] {
    const c: number[] = [];
    let acc = 0;
    vs.forEach((v, i) => {
        if (i) acc += gap(vs[i - 1], v);
        c.push(acc);
    });
    const blocks: Array<{ sum: number; count: number }> = [];
    want.forEach((w, i) => {
        blocks.push({ sum: w - c[i], count: 1 });
        while (blocks.length > 1) {
            const b = blocks[blocks.length - 1];
            const a = blocks[blocks.length - 2];
            if (a.sum / a.count <= b.sum / b.count) break;
            a.sum += b.sum;
            a.count += b.count;
            blocks.pop();
        }
    });
    const out: number[] = [];
    for (const b of blocks) for (let k = 0; k < b.count; k++) out.push(b.sum / b.count + c[out.length]);
    return out;
}
