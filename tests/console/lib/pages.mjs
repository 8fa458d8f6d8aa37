// The console's pages as the tests know them: one entry per route of console/src/app.tsx, and
// the sidebar's links. pages.test.mjs opens every entry and checks it; perf.test.mjs times its
// first render.
//
// Page authors extend an entry when their page lands:
//   ready  a selector that appears once the page shows its data (the default, ANY, only waits
//          for some content in <main> and for every loading state to end);
//   check  async (cp, c) => { ... }: runs after the generic checks with cp, the ConsolePage
//          (cp.page is Playwright's page), and c, the Console (c.api(path) fetches an API,
//          c.ids has a service, traceId and sessionId of the demo's data, and
//          `await c.settled()` waits until the demo stopped and the numbers no longer move).
//          Compare what the page shows with the API's numbers there, e.g. for /services:
//              await c.settled();
//              await cp.page.reload();
//              await cp.waitReady('.services table tbody tr');
//              const { services } = await c.api('/api/v1/overview');
//              assert.equal(await cp.page.locator('.services table tbody tr').count(), services.length);

/** Ready when <main> shows something other than a loading state. */
export const ANY = '#main > :not(.state-loading)';

/**
 * name: for test names and screenshots; title: the page's <h1> (app.tsx's route title);
 * path(ids): the URL path to open, ids being Console.ids.
 */
export const PAGES = [
    { name: 'services', title: 'Services', path: () => '/services', ready: ANY },
    { name: 'service', title: 'Service', path: (ids) => `/services/${encodeURIComponent(ids.service)}`, ready: ANY },
    { name: 'traces', title: 'Traces', path: () => '/traces', ready: ANY },
    { name: 'trace', title: 'Trace', path: (ids) => `/traces/${ids.traceId}`, ready: ANY },
    { name: 'topology', title: 'Topology', path: () => '/topology', ready: ANY },
    { name: 'llm', title: 'LLM', path: () => '/llm', ready: ANY },
    { name: 'sessions', title: 'Sessions', path: () => '/sessions', ready: ANY },
    { name: 'session', title: 'Session', path: (ids) => `/sessions/${encodeURIComponent(ids.sessionId)}`, ready: ANY },
    { name: 'users', title: 'Users', path: () => '/users', ready: ANY },
    { name: 'agents', title: 'Agents', path: () => '/agents', ready: ANY },
    { name: 'logs', title: 'Logs', path: () => '/logs', ready: ANY },
    { name: 'metrics', title: 'Metrics', path: () => '/explore', ready: ANY },
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
