// The console's pages as the tests know them: one entry per route of console/src/app.tsx, and
// the sidebar's links. pages.test.mjs opens every entry and checks it; perf.test.mjs times its
// first render.
//
// An entry's fields:
//   ready  a selector that appears once the page shows its data (ANY only waits for some
//          content in <main> and for every loading state to end);
//   check  async (cp, c) => { ... }: runs after the generic checks with cp, the ConsolePage
//          (cp.page is Playwright's page), and c, the Console. Every check here waits until the
//          demo's numbers settled, opens its page again over one absolute time range that holds
//          all the data (?from=&to= as unix ms: Console.settledRange()), asks the APIs the page
//          uses for that same range itself (c.api), and compares what the page shows (rows,
//          counts, calls, error rates, tokens, costs, latencies) with those answers formatted
//          as console/src/lib/format.ts formats them (lib/format.mjs). Tables are found by their
//          caption and read by their column headers.
import assert from 'node:assert/strict';

import { formatCost, formatMs, formatNumber, formatPercent, formatSeconds, formatTime } from './format.mjs';

/** Ready when <main> shows something other than a loading state. */
export const ANY = '#main > :not(.state-loading)';

/** What each page shows once it has its data (any loading state must be gone too, see waitReady). */
const READY = {
    services: '#main table tbody a[href^="/services/"]',
    service: '#main dl[aria-label="Figures over the time range"]',
    traces: '#main table tbody a[href^="/traces/"]',
    trace: '#main [data-testid="trace-header"]',
    topology: '#main svg[aria-label^="Service graph:"]',
    llm: '#main [role="tabpanel"] table tbody td',
    sessions: '#main table tbody a[href^="/sessions/"]',
    session: '#main ol[aria-label="Turns"] article',
    users: '#main table tbody a[href^="/sessions?"]',
    agents: '#main table tbody a[href^="/agents"]',
    logs: '#main table tbody button[aria-expanded]',
    metrics: '#main textarea#promql',
};

// ---- reading the page and asking the API ----

/** path with its query string, values that are undefined, null or '' left out (lib/api.ts apiUrl). */
function withQuery(path, query = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    return s ? `${path}?${s}` : path;
}

/** start and end of range r ({from, to}, unix ms) as most APIs take them: unix seconds to the ms (lib/time.ts apiRange). */
const apiRange = (r) => ({ start: (r.from / 1000).toFixed(3), end: (r.to / 1000).toFixed(3) });

/** start and end of r as the trace search of the Traces page takes them: RFC 3339. */
const isoRange = (r) => ({ start: new Date(r.from).toISOString(), end: new Date(r.to).toISOString() });

/** The length of r in seconds, as the page computes it. */
const rangeSeconds = (r) => r.to / 1000 - r.from / 1000;

/** A step of about points steps over r, whole seconds (lib/time.ts stepFor). */
const stepFor = (r, points = 120) => Math.max(1, Math.round((r.to - r.from) / 1000 / points));

/**
 * Waits until the demo's numbers settled, then opens path (with query) over the settled range
 * and waits until it shows ready. Returns the range.
 */
async function openSettled(cp, c, path, ready, query = {}) {
    const r = await c.settledRange();
    await cp.goto(withQuery(path, { ...query, from: r.from, to: r.to }));
    await cp.waitReady(ready);
    return r;
}

/**
 * The rows of the table whose caption is caption, as objects from column header (without the
 * sort arrow) to the cell's text; the "nothing to show" row left out.
 */
function tableRows(page, caption) {
    return page.getByRole('table', { name: caption, exact: true }).evaluate((t) => {
        const heads = [...t.querySelectorAll('thead th')].map((th) => th.innerText.replace(/\s*[▲▼]$/, '').trim());
        return [...t.querySelectorAll('tbody tr')]
            .filter((tr) => tr.cells.length === heads.length)
            .map((tr) => Object.fromEntries([...tr.cells].map((td, i) => [heads[i], td.innerText.trim()])));
    });
}

/** The terms and descriptions of the <dl>s in locator's element, as {term: text}. */
function facts(locator) {
    return locator.evaluate((el) =>
        Object.fromEntries([...el.querySelectorAll('dt')].map((dt) => [dt.innerText.trim(), dt.nextElementSibling?.innerText.trim() ?? ''])),
    );
}

const byJson = (a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);

/**
 * Asserts that a table shows the expected rows, in any order: as many, and each with the texts
 * expected in the columns expected names (the first row's keys).
 */
function assertRows(actual, expected, what) {
    assert.equal(actual.length, expected.length, `${what}: rows`);
    const cols = Object.keys(expected[0] ?? {});
    const pick = (rows) => rows.map((row) => Object.fromEntries(cols.map((k) => [k, row[k]]))).sort(byJson);
    assert.deepEqual(pick(actual), pick(expected), `${what}: cells`);
}

/** A node of the service graph as the tables name it: virtual ones marked. */
const nodeName = (id, kinds) => (kinds.get(id) === 'service' ? id : `${id} (virtual)`);

const CONNECTION = { '': 'request', virtual_node: 'uninstrumented peer', database: 'database', messaging_system: 'messaging' };
const connectionName = (t) => CONNECTION[t] ?? t;

/** A trace id as tables show it: its first 16 digits. */
const shortId = (id) => `${id.slice(0, 16)}…`;

// ---- services ----

async function checkServices(cp, c) {
    const r = await openSettled(cp, c, '/services', READY.services);
    const { services, models } = await c.api(withQuery('/api/v1/overview', apiRange(r)));
    assert.ok(services.length > 0, 'the overview has no services');
    const svc = await tableRows(cp.page, 'Services with their request rate, error rate and latency over the time range');
    assertRows(
        svc,
        services.map((s) => ({
            Service: s.name,
            'Requests/s': formatNumber(s.rate),
            'Error rate': formatPercent(s.errorRate),
            p50: formatSeconds(s.p50),
            p95: formatSeconds(s.p95),
            p99: formatSeconds(s.p99),
            Calls: formatNumber(s.calls),
            Errors: formatNumber(s.errors),
        })),
        '/services: services table vs GET /api/v1/overview',
    );
    const top = await tableRows(cp.page, 'The ten busiest LLM models: calls, errors, cost and tokens');
    assertRows(
        top,
        models.map((m) => ({
            Model: m.model || 'unknown',
            Provider: m.provider || 'unknown',
            Calls: formatNumber(m.calls),
            Errors: formatNumber(m.errors),
            Cost: formatCost(m.cost),
            'Input tokens': formatNumber(m.inputTokens),
            'Output tokens': formatNumber(m.outputTokens),
        })),
        '/services: top models vs GET /api/v1/overview',
    );
}

// ---- service ----

async function checkService(cp, c) {
    const name = c.ids.service;
    const r = await openSettled(cp, c, `/services/${encodeURIComponent(name)}`, READY.service);
    const page = cp.page;
    const range = apiRange(r);

    const { services } = await c.api(withQuery('/api/v1/overview', range));
    const s = services.find((x) => x.name === name);
    assert.ok(s, `${name} is not in the overview`);
    assert.deepEqual(
        await facts(page.getByLabel('Figures over the time range', { exact: true })),
        {
            'Requests/s': formatNumber(s.rate),
            'Error rate': formatPercent(s.errorRate),
            p50: formatSeconds(s.p50),
            p95: formatSeconds(s.p95),
            p99: formatSeconds(s.p99),
            Calls: formatNumber(s.calls),
            Errors: formatNumber(s.errors),
        },
        `/services/${name}: figures vs GET /api/v1/overview`,
    );

    // Operations: one row per (span name, kind) of the service, with its call rate over the range.
    const sel = `service_name=${JSON.stringify(name)}`;
    const rangeWindow = `${Math.max(1, Math.round(rangeSeconds(r)))}s`;
    const rateQuery = `sum by (span_name, span_kind) (rate(traces_span_metrics_calls_total{${sel}}[${rangeWindow}]))`;
    const rates = await c.api(withQuery('/api/v1/query', { query: rateQuery, time: range.end }));
    assert.ok(rates.data.result.length > 0, `${rateQuery}: no series`);
    const ops = await tableRows(page, `Operations of ${name}: rate, errors and p95 over the time range`);
    assertRows(
        ops,
        rates.data.result.map((x) => ({
            Operation: x.metric.span_name || '(no name)',
            Kind: (x.metric.span_kind ?? '').replace(/^SPAN_KIND_/, '').toLowerCase(),
            'Calls/s': formatNumber(Number(x.value[1])),
        })),
        `/services/${name}: operations vs GET /api/v1/query (${rateQuery})`,
    );

    const topo = await c.api(withQuery('/api/v1/topology', range));
    const kinds = new Map(topo.nodes.map((n) => [n.id, n.kind]));
    const dependency = (e, peer) => ({
        peer: nodeName(peer, kinds),
        Connection: connectionName(e.connectionType),
        'Requests/s': formatNumber(e.rate),
        'Error rate': formatPercent(e.errorRate),
        p95: formatSeconds(e.p95),
    });
    const callers = topo.edges.filter((e) => e.server === name).map((e) => dependency(e, e.client));
    const callees = topo.edges.filter((e) => e.client === name).map((e) => dependency(e, e.server));
    const asPeer = (rows, label) => rows.map(({ [label]: peer, ...rest }) => ({ peer, ...rest }));
    assertRows(asPeer(await tableRows(page, `Callers of ${name}`), 'Caller'), callers, `/services/${name}: callers vs GET /api/v1/topology`);
    assertRows(asPeer(await tableRows(page, `Services ${name} calls`), 'Callee'), callees, `/services/${name}: callees vs GET /api/v1/topology`);

    // Recent errors: the trace search with the range in unix nanoseconds.
    const failed = await c.api(
        withQuery('/api/v1/traces', { service: name, status: 'error', limit: 10, start: `${r.from}000000`, end: `${r.to}000000` }),
    );
    if (failed.traces.length > 0) {
        assertRows(
            await tableRows(page, `Newest traces with a failed span of ${name}`),
            failed.traces.map((t) => ({
                Start: formatTime(Number(t.startTimeUnixNano) / 1e6),
                Trace: `${t.rootServiceName || 'unknown service'}: ${t.rootSpanName || '(no name)'}`,
                Duration: formatMs(Number(t.durationNanos) / 1e6),
                'Failed spans': `${formatNumber(t.errorCount)} of ${formatNumber(t.spanCount)}`,
                'Trace id': shortId(t.traceId),
            })),
            `/services/${name}: recent errors vs GET /api/v1/traces?status=error`,
        );
    } else {
        await page.getByText(`No failed span of ${name} in this time range.`).waitFor();
    }

    const { logs } = await c.api(
        withQuery('/api/v1/logs', { query: `{service_name=${JSON.stringify(name)}}`, limit: 20, direction: 'backward', ...range }),
    );
    const lines = await page.getByRole('list', { name: `Newest logs of ${name}` }).getByRole('listitem').allInnerTexts();
    assert.equal(lines.length, logs.length, `/services/${name}: log lines vs GET /api/v1/logs`);
    for (const [i, l] of logs.entries()) {
        assert.ok(lines[i].includes(l.line), `/services/${name}: log line ${i} is ${JSON.stringify(lines[i])}, not ${JSON.stringify(l.line)}`);
    }
}

// ---- traces ----

async function checkTraces(cp, c) {
    const r = await openSettled(cp, c, '/traces', READY.traces);
    const { traces } = await c.api(withQuery('/api/v1/traces', { limit: 20, ...isoRange(r) }));
    assert.ok(traces.length > 0, 'the trace search found nothing');
    const found = cp.page.getByRole('region', { name: 'Traces found' });
    const more = traces.length >= 20 ? ': the newest 20 that match (the limit; raise it to see more)' : '';
    const count = `${formatNumber(traces.length)} trace${traces.length === 1 ? '' : 's'}${more}.`;
    assert.equal(await found.getByRole('status').innerText(), count, '/traces: the count vs GET /api/v1/traces');
    assertRows(
        await tableRows(cp.page, 'Traces found'),
        traces.map((t) => ({
            Start: formatTime(Number(BigInt(t.startTimeUnixNano) / 1_000_000n)),
            'Root service': t.rootServiceName || '(no service)',
            'Root operation': t.rootSpanName,
            Duration: formatSeconds(Number(t.durationNanos) / 1e9),
            Spans: formatNumber(t.spanCount),
            Errors: formatNumber(t.errorCount),
            Services: t.services.join(', '),
            'Trace id': shortId(t.traceId),
        })),
        '/traces: traces table vs GET /api/v1/traces',
    );
}

// ---- trace ----

/** Spans, services (distinct service.name), failed spans and duration (s) of an OTLP/JSON trace. */
function traceFigures(doc) {
    let spans = 0;
    let errors = 0;
    let first = null;
    let last = null;
    const services = new Set();
    for (const rs of doc.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
        for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
                spans++;
                if (service) services.add(service);
                if (s.status?.code === 2) errors++;
                const start = BigInt(s.startTimeUnixNano);
                const end = BigInt(s.endTimeUnixNano) > start ? BigInt(s.endTimeUnixNano) : start;
                if (first === null || start < first) first = start;
                if (last === null || end > last) last = end;
            }
        }
    }
    if (!spans) return { spans, errors, services: 0, startMs: 0, seconds: 0 };
    return { spans, errors, services: services.size, startMs: Number(first / 1_000_000n), seconds: Number(last - first) / 1e9 };
}

async function checkTrace(cp, c) {
    const id = c.ids.traceId;
    const r = await openSettled(cp, c, `/traces/${id}`, READY.trace);
    const f = traceFigures(await c.api(`/api/v1/traces/${id}`));
    const shown = await facts(cp.page.getByTestId('trace-header'));
    assert.deepEqual(
        { Start: shown.Start, Spans: shown.Spans, Services: shown.Services, Errors: shown.Errors, Duration: shown.Duration },
        {
            Start: formatTime(f.startMs),
            Spans: formatNumber(f.spans),
            Services: formatNumber(f.services),
            Errors: formatNumber(f.errors),
            Duration: formatSeconds(f.seconds),
        },
        `/traces/${id}: header vs GET /api/v1/traces/${id}`,
    );
    // The search's summary of the same trace counts the same spans.
    const search = await c.api(withQuery('/api/v1/traces', { service: c.ids.service, limit: 1000, ...isoRange(r) }));
    const summary = search.traces.find((t) => t.traceId === id);
    assert.ok(summary, `trace ${id} is not in the search of ${c.ids.service}'s traces`);
    assert.deepEqual(
        { Spans: shown.Spans, Errors: shown.Errors },
        { Spans: formatNumber(summary.spanCount), Errors: formatNumber(summary.errorCount) },
        `/traces/${id}: header vs its summary in GET /api/v1/traces`,
    );
}

// ---- topology ----

async function checkTopology(cp, c) {
    const r = await openSettled(cp, c, '/topology', READY.topology);
    const t = await c.api(withQuery('/api/v1/topology', apiRange(r)));
    const page = cp.page;
    assert.ok(t.edges.length > 0, 'the topology has no edges');
    assert.equal(
        await page.getByRole('group', { name: /^Service graph:/ }).getAttribute('aria-label'),
        `Service graph: ${t.nodes.length} nodes, ${t.edges.length} edges`,
        '/topology: the graph vs GET /api/v1/topology',
    );
    const kinds = new Map(t.nodes.map((n) => [n.id, n.kind]));
    const hot = new Set(t.hotPath.slice(1).map((id, i) => `${t.hotPath[i]}>${id}`));
    assertRows(
        await tableRows(page, 'Requests between services: rate, error rate, p95 and health'),
        t.edges.map((e) => ({
            Client: nodeName(e.client, kinds),
            Server: nodeName(e.server, kinds),
            Connection: connectionName(e.connectionType),
            'Requests/s': formatNumber(e.rate),
            'Error rate': formatPercent(e.errorRate),
            p95: formatSeconds(e.p95),
            'Hot path': hot.has(`${e.client}>${e.server}`) ? 'yes' : '',
        })),
        '/topology: edges vs GET /api/v1/topology',
    );
    assertRows(
        await tableRows(page, 'Nodes of the graph: the requests each served'),
        t.nodes.map((n) => ({
            Node: nodeName(n.id, kinds),
            Kind: n.kind,
            'Requests/s': formatNumber(n.rate),
            'Error rate': formatPercent(n.errorRate),
            p95: formatSeconds(n.p95),
        })),
        '/topology: nodes vs GET /api/v1/topology',
    );
}

// ---- llm ----

async function checkLlm(cp, c) {
    const r = await openSettled(cp, c, '/llm', READY.llm);
    const range = apiRange(r);
    const { models } = await c.api(withQuery('/api/v1/llm/models', { groupBy: 'model', ...range }));
    assert.ok(models.length > 0, 'GET /api/v1/llm/models has no models');
    assertRows(
        await tableRows(cp.page, 'LLM usage by model'),
        models.map((m) => ({
            Model: m.key || '(none)',
            Provider: m.provider || '–',
            Calls: formatNumber(m.calls),
            Errors: formatNumber(m.errors),
            'Input tokens': formatNumber(m.inputTokens),
            'Output tokens': formatNumber(m.outputTokens),
            'Cache read': formatNumber(m.cacheReadTokens),
            'Cache write': formatNumber(m.cacheWriteTokens),
            Cost: formatCost(m.cost),
            'Latency p50': formatSeconds(m.latencyP50),
            'Latency p95': formatSeconds(m.latencyP95),
            'TTFT p50': formatSeconds(m.ttftP50),
            'TTFT p95': formatSeconds(m.ttftP95),
            'TPOT p50': formatSeconds(m.tpotP50),
            'TPOT p95': formatSeconds(m.tpotP95),
            Streamed: formatPercent(m.streamingShare),
        })),
        '/llm: usage by model vs GET /api/v1/llm/models',
    );
    const streaming = await c.api(withQuery('/api/v1/llm/streaming', { stallMs: 1000, ...range }));
    assertRows(
        await tableRows(cp.page, 'Streaming quality per provider and model'),
        streaming.models.map((m) => ({
            Provider: m.provider || '–',
            Model: m.model || '–',
            'Streamed calls': formatNumber(m.streamedCalls),
            'Failed after first token': formatNumber(m.failedAfterFirstToken),
            'Share failed': formatPercent(m.failedAfterFirstTokenShare),
            'Calls with a stall': formatNumber(m.stalls),
            'Largest gap': formatMs(m.maxGapMs),
        })),
        '/llm: streaming quality vs GET /api/v1/llm/streaming',
    );
}

// ---- sessions ----

async function checkSessions(cp, c) {
    const r = await openSettled(cp, c, '/sessions', READY.sessions);
    const { sessions } = await c.api(withQuery('/api/v1/sessions', { limit: 100, ...apiRange(r) }));
    const n = sessions.length;
    assert.equal(
        await cp.page.getByRole('main').getByRole('status').innerText(),
        `${formatNumber(n)} ${n === 1 ? 'session' : 'sessions'}${n >= 100 ? ', the 100 most recent' : ''}.`,
        '/sessions: the count vs GET /api/v1/sessions',
    );
    assertRows(
        await tableRows(cp.page, 'Sessions, newest first'),
        sessions.map((s) => ({
            Session: s.id,
            User: s.user || '–',
            Services: s.services.length ? s.services.join(', ') : '–',
            Turns: formatNumber(s.turns),
            Traces: formatNumber(s.traces),
            'Input tokens': formatNumber(s.inputTokens),
            'Output tokens': formatNumber(s.outputTokens),
            Cost: formatCost(s.cost),
            Errors: formatNumber(s.errors),
            Duration: formatMs(s.durationMs),
            'First seen': formatTime(s.firstSeen * 1000),
            'Last seen': formatTime(s.lastSeen * 1000),
        })),
        '/sessions: sessions table vs GET /api/v1/sessions',
    );
}

// ---- session ----

async function checkSession(cp, c) {
    const id = c.ids.sessionId;
    const r = await openSettled(cp, c, `/sessions/${encodeURIComponent(id)}`, READY.session);
    const page = cp.page;
    const d = await c.api(`/api/v1/sessions/${encodeURIComponent(id)}`);
    const sum = (f) => d.turns.reduce((s, t) => s + f(t), 0);
    const head = page.locator('header').filter({ has: page.getByRole('heading', { name: `Session ${id}`, exact: true }) });
    const totals = {
        User: d.user || '–',
        Turns: formatNumber(d.turns.length),
        'LLM calls': formatNumber(sum((t) => t.llmCalls)),
        'Input tokens': formatNumber(sum((t) => t.inputTokens)),
        'Output tokens': formatNumber(sum((t) => t.outputTokens)),
        Cost: formatCost(sum((t) => t.cost)),
        Errors: formatNumber(sum((t) => t.errors)),
    };
    assert.deepEqual(await facts(head), totals, `/sessions/${id}: totals vs GET /api/v1/sessions/${id}`);

    const cards = page.getByRole('list', { name: 'Turns' }).getByRole('article');
    assert.equal(await cards.count(), d.turns.length, `/sessions/${id}: turns`);
    for (const [i, t] of d.turns.entries()) {
        assert.deepEqual(
            await facts(cards.nth(i)),
            {
                Model: t.model || '–',
                Duration: formatMs(t.durationMs),
                TTFT: formatMs(t.ttftMs),
                'Input tokens': formatNumber(t.inputTokens),
                'Output tokens': formatNumber(t.outputTokens),
                'Cache read': formatNumber(t.cacheReadTokens),
                Cost: formatCost(t.cost),
                'LLM calls': formatNumber(t.llmCalls),
                Errors: formatNumber(t.errors),
            },
            `/sessions/${id}: turn ${i + 1} vs GET /api/v1/sessions/${id}`,
        );
    }

    // The range holds all the session, so the list's row of it has the same totals.
    const { sessions } = await c.api(withQuery('/api/v1/sessions', { user: d.user, limit: 1000, ...apiRange(r) }));
    const row = sessions.find((s) => s.id === id);
    assert.ok(row, `session ${id} is not in GET /api/v1/sessions?user=${d.user}`);
    const { User: _, 'LLM calls': __, ...listed } = totals;
    assert.deepEqual(
        listed,
        {
            Turns: formatNumber(row.turns),
            'Input tokens': formatNumber(row.inputTokens),
            'Output tokens': formatNumber(row.outputTokens),
            Cost: formatCost(row.cost),
            Errors: formatNumber(row.errors),
        },
        `/sessions/${id}: totals vs its row in GET /api/v1/sessions`,
    );
}

// ---- users ----

async function checkUsers(cp, c) {
    const r = await openSettled(cp, c, '/users', READY.users);
    const { users } = await c.api(withQuery('/api/v1/users', { ...apiRange(r), limit: 1000 }));
    const n = users.length;
    const status = await cp.page.getByRole('main').getByRole('status').innerText();
    const count = `${formatNumber(n)} ${n === 1 ? 'user' : 'users'} in this time range.`;
    assert.ok(status.startsWith(count), `/users: "${status}" vs ${n} users in GET /api/v1/users`);
    assertRows(
        await tableRows(cp.page, 'Usage per user'),
        users.map((u) => ({
            User: u.id || '–',
            Sessions: u.id ? formatNumber(u.sessions) : '–',
            Traces: formatNumber(u.traces),
            'LLM calls': formatNumber(u.llmCalls),
            'Input tokens': formatNumber(u.inputTokens),
            'Output tokens': formatNumber(u.outputTokens),
            Cost: formatCost(u.cost),
            Errors: formatNumber(u.errors),
            'First seen': formatTime(u.firstSeen * 1000),
            'Last seen': formatTime(u.lastSeen * 1000),
        })),
        '/users: users table vs GET /api/v1/users',
    );
}

// ---- agents ----

async function checkAgents(cp, c) {
    const r = await openSettled(cp, c, '/agents', READY.agents);
    const page = cp.page;
    const { agents } = await c.api(withQuery('/api/v1/agents', apiRange(r)));
    assert.ok(agents.length > 0, 'GET /api/v1/agents has no agents');
    assertRows(
        await tableRows(page, 'Agents and their runs'),
        agents.map((a) => ({
            Agent: a.name || '(unnamed)',
            Runs: formatNumber(a.runs),
            'LLM calls per run': formatNumber(a.llmCallsPerRun),
            'Failed runs': formatNumber(a.errors),
            'Tool calls': formatNumber(a.tools.reduce((n, t) => n + t.calls, 0)),
            Tools: a.tools.length ? a.tools.map((t) => t.name).join(', ') : 'none',
        })),
        '/agents: agents table vs GET /api/v1/agents',
    );
    // Without ?agent=, the first agent's details.
    const a = agents[0];
    const detail = page.getByRole('region', { name: `Agent ${a.name || '(unnamed)'}`, exact: true });
    const shown = await facts(detail.locator('dl').first());
    assert.deepEqual(
        shown,
        { Runs: formatNumber(a.runs), 'LLM calls per run': formatNumber(a.llmCallsPerRun), 'Failed runs': formatNumber(a.errors) },
        `/agents: figures of ${a.name} vs GET /api/v1/agents`,
    );
    if (a.tools.length) {
        assertRows(
            await tableRows(page, `Tool calls of ${a.name}`),
            a.tools.map((t) => ({
                Tool: t.name || '(unnamed)',
                Calls: formatNumber(t.calls),
                Errors: formatNumber(t.errors),
                'Duration p95': formatMs(t.p95Ms),
            })),
            `/agents: tools of ${a.name} vs GET /api/v1/agents`,
        );
    }
    if (a.transitions.length) {
        assertRows(
            await tableRows(page, `Role transitions of ${a.name}`),
            a.transitions.map((t) => ({ From: t.from, To: t.to, Count: formatNumber(t.count) })),
            `/agents: transitions of ${a.name} vs GET /api/v1/agents`,
        );
    }
}

// ---- logs ----

/** The page's query when the URL names none (logs/logql.ts DEFAULT_QUERY). */
const ALL_LOGS = '{service_name=~".+"}';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'unknown'];
const LEVEL_ALIASES = {
    warning: 'warn',
    err: 'error',
    critical: 'fatal',
    crit: 'fatal',
    panic: 'fatal',
    emerg: 'fatal',
    emergency: 'fatal',
    alert: 'fatal',
    information: 'info',
    notice: 'info',
    dbg: 'debug',
};

/** A level as the Logs page names it (logs/logql.ts normalLevel). */
function normalLevel(raw) {
    const l = (raw ?? '').trim().toLowerCase();
    return LEVELS.includes(l) ? l : (LEVEL_ALIASES[l] ?? 'unknown');
}

/** The level of a line from its labels (logs/logql.ts levelOf). */
const levelOf = (labels) => normalLevel(labels.detected_level || labels.level || labels.severity_text || labels.severity);

/** A unix-ns string as local time with milliseconds, "2026-11-21 18:04:05.123" (logs/entries.ts formatNs). */
function formatNs(ns) {
    const ms = Number(BigInt(ns) / 1_000_000n);
    return `${formatTime(ms)}.${String(ms % 1000).padStart(3, '0')}`;
}

async function checkLogs(cp, c) {
    const r = await openSettled(cp, c, '/logs', READY.logs);
    const page = cp.page;
    const range = apiRange(r);
    const limit = 100;
    const { logs } = await c.api(withQuery('/api/v1/logs', { query: ALL_LOGS, ...range, limit }));
    assert.ok(logs.length > 0, 'GET /api/v1/logs has no lines');
    const atLimit = logs.length === limit ? ': the limit; narrow the query or raise the limit to see more' : '';
    await page.getByText(`${formatNumber(logs.length)} lines, newest first${atLimit}.`, { exact: true }).waitFor({ timeout: 5000 });
    const rows = await tableRows(page, `Log lines of ${ALL_LOGS}`);
    const traceRef = (l) => (l.traceId ? ` trace ${l.traceId.slice(0, 8)}…${l.trace === 'absent' ? ' (not stored)' : ''}` : '');
    assert.deepEqual(
        rows.map((x) => [x.Time, x.Level.toLowerCase(), x.Message]), // the level is upper case by CSS
        logs.map((l) => [formatNs(l.time), levelOf(l.labels), `${l.line}${traceRef(l)}`]),
        '/logs: lines (newest first) vs GET /api/v1/logs',
    );

    // The histogram: the lines per step by level (a Loki metric query), and all of them.
    const step = stepFor(r, 60);
    const histogram = `sum by (detected_level) (count_over_time(${ALL_LOGS}\n| drop __error__, __error_details__ [${step}s]))`;
    const h = await c.api(withQuery('/loki/api/v1/query_range', { query: histogram, ...range, step }));
    const bars = Math.floor(rangeSeconds(r) / step + 1e-9) + 1;
    const byLevel = new Map();
    for (const s of h.data.result) {
        const level = normalLevel(s.metric.detected_level);
        for (const [t, v] of s.values) {
            const i = Math.round((t - r.from / 1000) / step);
            if (i >= 0 && i < bars) byLevel.set(level, (byLevel.get(level) ?? 0) + Number(v));
        }
    }
    const total = [...byLevel.values()].reduce((a, b) => a + b, 0);
    await page.getByText(`${formatNumber(total)} matching lines, per ${formatSeconds(step)}`, { exact: true }).waitFor({ timeout: 5000 });
    const legend = await page.getByRole('list', { name: 'Lines by level' }).getByRole('listitem').allInnerTexts();
    assert.deepEqual(
        legend.map((x) => x.trim()).sort(),
        [...byLevel].filter(([, n]) => n > 0).map(([l, n]) => `${l} ${formatNumber(n)}`).sort(),
        '/logs: histogram legend vs GET /loki/api/v1/query_range',
    );
    // The range starts before the first line, so the histogram counts every line the search finds.
    const all = await c.api(withQuery('/api/v1/logs', { query: ALL_LOGS, ...range, limit: 5000 }));
    if (all.logs.length < 5000) assert.equal(total, all.logs.length, '/logs: lines in the histogram vs lines of GET /api/v1/logs');
}

// ---- metrics ----

/** The query the Metrics page is opened with. */
const METRICS_QUERY = 'sum by (service_name, span_kind) (traces_span_metrics_calls_total)';

/** A series' name as the Metrics page writes it (metrics/results.tsx seriesName). */
function seriesName(metric) {
    const { __name__: name = '', ...rest } = metric;
    const labels = Object.keys(rest)
        .sort()
        .map((k) => `${k}=${JSON.stringify(rest[k])}`);
    return labels.length || !name ? `${name}{${labels.join(', ')}}` : name;
}

/** A sample value as the Metrics page shows it. */
const formatSample = (v) => (Number.isFinite(Number(v)) ? formatNumber(Number(v)) : v);

async function checkMetrics(cp, c) {
    const caption = `Result of ${METRICS_QUERY}`;
    const r = await openSettled(cp, c, '/explore', `#main table tbody td`, { query: METRICS_QUERY, view: 'table' });
    const range = apiRange(r);
    const instant = await c.api(withQuery('/api/v1/query', { query: METRICS_QUERY, time: range.end }));
    assert.equal(instant.data.resultType, 'vector');
    assert.ok(instant.data.result.length > 0, `${METRICS_QUERY}: no series`);
    assertRows(
        await tableRows(cp.page, caption),
        instant.data.result.map((s) => ({ Series: seriesName(s.metric), Value: formatSample(s.value[1]) })),
        '/explore: the table vs GET /api/v1/query',
    );

    // The graph: as many series as the range query answers.
    await cp.goto(withQuery('/explore', { query: METRICS_QUERY, from: r.from, to: r.to }));
    await cp.waitReady('#main [role="img"][aria-label^="Graph of "]');
    const step = stepFor(r);
    const matrix = await c.api(withQuery('/api/v1/query_range', { query: METRICS_QUERY, ...range, step }));
    const n = matrix.data.result.filter((s) => s.values?.length).length;
    const head = n > 20 ? `The first 20 of ${formatNumber(n)} series` : `${formatNumber(n)} series`;
    await cp.page.getByText(`${head}, one point every ${formatSeconds(step)}.`).waitFor({ timeout: 5000 });
}

/**
 * name: for test names and screenshots; title: the page's <h1> (app.tsx's route title);
 * path(ids): the URL path to open, ids being Console.ids.
 */
export const PAGES = [
    { name: 'services', title: 'Services', path: () => '/services', ready: READY.services, check: checkServices },
    { name: 'service', title: 'Service', path: (ids) => `/services/${encodeURIComponent(ids.service)}`, ready: READY.service, check: checkService },
    { name: 'traces', title: 'Traces', path: () => '/traces', ready: READY.traces, check: checkTraces },
    { name: 'trace', title: 'Trace', path: (ids) => `/traces/${ids.traceId}`, ready: READY.trace, check: checkTrace },
    { name: 'topology', title: 'Topology', path: () => '/topology', ready: READY.topology, check: checkTopology },
    { name: 'llm', title: 'LLM', path: () => '/llm', ready: READY.llm, check: checkLlm },
    { name: 'sessions', title: 'Sessions', path: () => '/sessions', ready: READY.sessions, check: checkSessions },
    { name: 'session', title: 'Session', path: (ids) => `/sessions/${encodeURIComponent(ids.sessionId)}`, ready: READY.session, check: checkSession },
    { name: 'users', title: 'Users', path: () => '/users', ready: READY.users, check: checkUsers },
    { name: 'agents', title: 'Agents', path: () => '/agents', ready: READY.agents, check: checkAgents },
    { name: 'logs', title: 'Logs', path: () => '/logs', ready: READY.logs, check: checkLogs },
    { name: 'metrics', title: 'Metrics', path: () => '/explore', ready: READY.metrics, check: checkMetrics },
];

/** The sidebar, in order: [path, label, shortcut key after "g"] (app.tsx's NAV). */
export const NAV = [
    ['/services', 'Services', 's'],
    ['/traces', 'Traces', 't'],
    ['/topology', 'Topology', 'o'],
    ['/llm', 'LLM', 'l'],
    ['/sessions', 'Sessions', 'e'],
    ['/users', 'Users', 'u'],
    ['/agents', 'Agents', 'a'],
    ['/logs', 'Logs', 'g'],
    ['/explore', 'Metrics', 'm'],
];
