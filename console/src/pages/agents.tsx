// The Agents page: per agent (GET /api/v1/agents) its runs, LLM calls per run and failed runs;
// for the agent the URL names (agent=, else the first) its tool calls by tool and its role
// transitions, drawn as a state diagram and listed as a table.
import { Link } from '../components/link';
import { useTimeRange } from '../lib/time';
import { useRangeApi } from '../lib/api';
import { Empty, Loaded } from '../components/states';
import { type Column, Table } from '../components/table';
import { formatMs, formatNumber } from '../lib/format';
import { useLocation } from '../lib/router';
import { ErrorCount, IndexedFrom } from './ai/common';
import { TransitionDiagram, rolesOf } from './ai/flow';
import type { AgentStats, AgentTool, Agents, Transition } from './ai/types';

import './ai/ai.css';
import './agents.css';

/** The tool calls of an agent's runs, all tools together. */
const toolCalls = (a: AgentStats) => a.tools.reduce((n, t) => n + t.calls, 0);

/** A link selecting an agent, keeping the rest of the URL's state. */
function AgentLink({ name, current }: { name: string; current: boolean }) {
    const { query } = useLocation();
    return (
        <Link
            to="/agents"
            query={{ ...Object.fromEntries(query), agent: name }}
            aria-current={current ? 'true' : undefined}
            class={current ? 'selected' : undefined}
        >
            {name || '(unnamed)'}
        </Link>
    );
}

function agentColumns(selected: string): Array<Column<AgentStats>> {
    return [
        { key: 'name', label: 'Agent', render: (r) => <AgentLink name={r.name} current={r.name === selected} />, sort: (r) => r.name },
        { key: 'runs', label: 'Runs', numeric: true, render: (r) => formatNumber(r.runs), sort: (r) => r.runs },
        {
            key: 'llmCallsPerRun',
            label: 'LLM calls per run',
            numeric: true,
            render: (r) => formatNumber(r.llmCallsPerRun),
            sort: (r) => r.llmCallsPerRun ?? NaN,
        },
        { key: 'errors', label: 'Failed runs', numeric: true, render: (r) => <ErrorCount n={r.errors} />, sort: (r) => r.errors },
        { key: 'toolCalls', label: 'Tool calls', numeric: true, render: (r) => formatNumber(toolCalls(r)), sort: toolCalls },
        {
            key: 'tools',
            label: 'Tools',
            render: (r) => (r.tools.length ? <span class="wrap">{r.tools.map((t) => t.name).join(', ')}</span> : <span class="muted">none</span>),
        },
    ];
}

const TOOL_COLUMNS: Array<Column<AgentTool>> = [
    { key: 'name', label: 'Tool', render: (r) => r.name || <span class="muted">(unnamed)</span>, sort: (r) => r.name },
    { key: 'calls', label: 'Calls', numeric: true, render: (r) => formatNumber(r.calls), sort: (r) => r.calls },
    { key: 'errors', label: 'Errors', numeric: true, render: (r) => <ErrorCount n={r.errors} />, sort: (r) => r.errors },
    { key: 'p95Ms', label: 'Duration p95', numeric: true, render: (r) => formatMs(r.p95Ms), sort: (r) => r.p95Ms ?? NaN },
];

const TRANSITION_COLUMNS: Array<Column<Transition>> = [
    { key: 'from', label: 'From', render: (r) => r.from, sort: (r) => r.from },
    { key: 'to', label: 'To', render: (r) => r.to, sort: (r) => r.to },
    { key: 'count', label: 'Count', numeric: true, render: (r) => formatNumber(r.count), sort: (r) => r.count },
];

/** Transitions in the diagram's order: by role of origin, then of destination. */
function ordered(ts: Transition[]): Transition[] {
    const roles = rolesOf(ts);
    return [...ts].sort((a, b) => roles.indexOf(a.from) - roles.indexOf(b.from) || roles.indexOf(a.to) - roles.indexOf(b.to));
}

function AgentDetail({ agent }: { agent: AgentStats }) {
    const transitions = ordered(agent.transitions);
    return (
        <section class="agent-detail" aria-labelledby="agent-title">
            <h2 id="agent-title">
                Agent <span class="mono">{agent.name || '(unnamed)'}</span>
            </h2>
            <dl class="facts">
                <div>
                    <dt>Runs</dt>
                    <dd>{formatNumber(agent.runs)}</dd>
                </div>
                <div>
                    <dt>LLM calls per run</dt>
                    <dd>{formatNumber(agent.llmCallsPerRun)}</dd>
                </div>
                <div>
                    <dt>Failed runs</dt>
                    <dd>
                        <ErrorCount n={agent.errors} />
                    </dd>
                </div>
            </dl>
            <div class="agent-grid">
                <div class="card">
                    <h3>Tool calls by tool</h3>
                    {agent.tools.length ? (
                        <Table
                            id="tools"
                            columns={TOOL_COLUMNS}
                            rows={agent.tools}
                            rowKey={(t) => t.name}
                            defaultSort="-calls"
                            caption={`Tool calls of ${agent.name}`}
                        />
                    ) : (
                        <Empty>No tool calls below this agent's runs.</Empty>
                    )}
                </div>
                <div class="card">
                    <h3>Role transitions</h3>
                    {transitions.length ? (
                        <>
                            <div class="flow-wrap">
                                <TransitionDiagram transitions={transitions} name={agent.name} />
                            </div>
                            <p class="muted note">
                                Each run starts and ends at user; an LLM call is the agent role, a tool call the tool role, in start order.
                            </p>
                            <Table
                                id="trans"
                                columns={TRANSITION_COLUMNS}
                                rows={transitions}
                                rowKey={(t) => `${t.from}>${t.to}`}
                                caption={`Role transitions of ${agent.name}`}
                            />
                        </>
                    ) : (
                        <Empty>No LLM or tool calls below this agent's runs, so no transitions.</Empty>
                    )}
                </div>
            </div>
        </section>
    );
}

export function AgentsPage() {
    const { query } = useLocation();
    const range = useTimeRange();
    const r = useRangeApi<Agents>('/api/v1/agents', {}, range);
    const asked = query.get('agent');
    return (
        <div class="agents ai-page">
            <IndexedFrom s={r.data?.indexedFrom} />
            <Loaded r={r} what="agents" isEmpty={(d) => d.agents.length === 0} empty="No agent runs in this time range.">
                {(d) => {
                    const agent = asked === null ? d.agents[0] : d.agents.find((a) => a.name === asked);
                    return (
                        <>
                            <section aria-labelledby="agents-title">
                                <h2 id="agents-title">Agents</h2>
                                <Table
                                    id="agents"
                                    columns={agentColumns(agent?.name ?? '')}
                                    rows={d.agents}
                                    rowKey={(a) => a.name}
                                    filterText={(a) => a.name}
                                    caption="Agents and their runs"
                                />
                            </section>
                            {agent ? <AgentDetail agent={agent} /> : <Empty>No runs of agent "{asked}" in this time range.</Empty>}
                        </>
                    );
                }}
            </Loaded>
        </div>
    );
}
