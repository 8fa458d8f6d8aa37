// Small pieces shared by the LLM, session, user and agent pages: links and cells.
import type { ComponentChildren } from 'preact';

import { Link } from '../../components/link';
import { formatNumber } from '../../lib/format';
import { formatTime } from '../../lib/time';

/** A link to one session's conversation (/sessions/:id). */
export function SessionLink({ id }: { id: string }) {
    return (
        <Link to={`/sessions/${encodeURIComponent(id)}`} class="mono">
            {id}
        </Link>
    );
}

/** A link to the sessions of one user (/sessions?user=), or "–" without a user. */
export function UserLink({ user, label }: { user: string; label?: string }) {
    if (!user) return <span class="muted">–</span>;
    return (
        <Link to="/sessions" query={{ user }} title={`Sessions of ${user}`}>
            {label ?? user}
        </Link>
    );
}

/** Unix seconds as local date and time. */
export function When({ s }: { s: number | null }) {
    if (s === null || !Number.isFinite(s)) return <span class="muted">–</span>;
    return <time dateTime={new Date(s * 1000).toISOString()}>{formatTime(s * 1000)}</time>;
}

/** Says that a list counts only the records from s on (an answer's indexedFrom), if set. */
export function IndexedFrom({ s }: { s: number | undefined }) {
    if (s === undefined) return null;
    return (
        <p class="note indexed-from" role="note">
            Counting AI calls from <When s={s} /> on: older days are past the AI call index's memory budget (<code>--ai-index-memory</code>), kept on
            disk but not in these lists.
        </p>
    );
}

/** An error count, drawn as an error when not zero. */
export function ErrorCount({ n }: { n: number }) {
    return n ? <span class="error-text">{formatNumber(n)}</span> : <>{formatNumber(n)}</>;
}

/** Label and value pairs as a description list (class "facts"). */
export function Facts({ facts }: { facts: Array<[string, ComponentChildren]> }) {
    return (
        <dl class="facts">
            {facts.map(([k, v]) => (
                <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                </div>
            ))}
        </dl>
    );
}
