// The console's frame: navigation, the header's time range, refresh and theme controls, and
// the page the URL names.
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';

import { Link } from './components/link';
import { Empty } from './components/states';
import { RefreshPicker, ThemeSwitch, TimePicker } from './components/timepicker';
import { match, navigate, useLocation } from './lib/router';
import { AgentsPage } from './pages/agents';
import { LlmPage } from './pages/llm';
import { LogsPage } from './pages/logs';
import { MetricsPage } from './pages/metrics';
import { ServicePage } from './pages/service';
import { ServicesPage } from './pages/services';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { TopologyPage } from './pages/topology';
import { TracePage } from './pages/trace';
import { TracesPage } from './pages/traces';
import { UsersPage } from './pages/users';

type Route = [pattern: string, title: string, render: (p: Record<string, string>) => ComponentChildren];

const ROUTES: Route[] = [
    ['/services', 'Services', () => <ServicesPage />],
    ['/services/:name', 'Service', (p) => <ServicePage name={p.name} />],
    ['/traces', 'Traces', () => <TracesPage />],
    ['/traces/:id', 'Trace', (p) => <TracePage id={p.id} />],
    ['/topology', 'Topology', () => <TopologyPage />],
    ['/llm', 'LLM', () => <LlmPage />],
    ['/sessions', 'Sessions', () => <SessionsPage />],
    ['/sessions/:id', 'Session', (p) => <SessionPage id={p.id} />],
    ['/users', 'Users', () => <UsersPage />],
    ['/agents', 'Agents', () => <AgentsPage />],
    ['/logs', 'Logs', () => <LogsPage />],
    ['/explore', 'Metrics', () => <MetricsPage />], // not /metrics: the server's own Prometheus metrics live there
];

/** The navigation: [path, label, keyboard shortcut after "g"]. */
const NAV: Array<[string, string, string]> = [
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

/** "g" then a letter goes to a page (not while typing in a field). */
function useShortcuts() {
    useEffect(() => {
        let pending = false;
        const onKey = (e: KeyboardEvent) => {
            const el = e.target as HTMLElement;
            if (e.metaKey || e.ctrlKey || e.altKey || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) || el.isContentEditable) return;
            if (pending) {
                pending = false;
                const hit = NAV.find(([, , k]) => k === e.key);
                if (hit) navigate(hit[0] + window.location.search);
                return;
            }
            if (e.key === 'g') {
                pending = true;
                window.setTimeout(() => (pending = false), 1500);
            }
        };
        window.addEventListener('keydown', onKey);
        return () => window.removeEventListener('keydown', onKey);
    }, []);
}

export function App() {
    const { path } = useLocation();
    useShortcuts();
    if (path === '/' || path === '') {
        navigate('/services' + window.location.search, true);
        return null;
    }
    let page: ComponentChildren = <Empty>No page at {path}.</Empty>;
    let title = 'Not found';
    for (const [pattern, t, render] of ROUTES) {
        const p = match(pattern, path);
        if (p) {
            page = render(p);
            title = t;
            break;
        }
    }
    document.title = `${title} · Osprey`;
    const section = '/' + (path.split('/')[1] ?? '');
    return (
        <div class="layout">
            <a class="skip-link" href="#main">
                Skip to content
            </a>
            <nav class="sidebar" aria-label="Main">
                <div class="brand">Osprey</div>
                <ul>
                    {NAV.map(([to, label, key]) => (
                        <li key={to}>
                            <Link to={to} aria-current={section === to ? 'page' : undefined} title={`${label} (g ${key})`}>
                                {label}
                            </Link>
                        </li>
                    ))}
                </ul>
            </nav>
            <div class="main-column">
                <header class="topbar">
                    <h1 class="page-title">{title}</h1>
                    <div class="controls">
                        <TimePicker />
                        <RefreshPicker />
                        <ThemeSwitch />
                    </div>
                </header>
                <main id="main" class="content" tabIndex={-1}>
                    {page}
                </main>
            </div>
        </div>
    );
}
