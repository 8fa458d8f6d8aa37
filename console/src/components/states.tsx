// What a view shows while it loads, when there is nothing to show, and when a request failed:
// always a sentence saying which.
import type { ComponentChildren } from 'preact';

import type { ApiError, Resource } from '../lib/api';

export function Loading({ what = 'data' }: { what?: string }) {
    return (
        <div class="state state-loading" role="status" aria-live="polite">
            Loading {what}…
        </div>
    );
}

export function Empty({ children }: { children: ComponentChildren }) {
    return <div class="state state-empty">{children}</div>;
}

export function ErrorState({ error, retry }: { error: ApiError | Error; retry?: () => void }) {
    const status = 'status' in error && error.status ? ` (HTTP ${error.status})` : '';
    return (
        <div class="state state-error" role="alert">
            <strong>Could not load this{status}:</strong> {error.message}
            {retry && (
                <button type="button" class="btn" onClick={retry}>
                    Retry
                </button>
            )}
        </div>
    );
}

/**
 * Renders children(data) once r has data (keeping the old data on screen while a refresh is in
 * flight), Loading before, ErrorState on failure, and empty when isEmpty(data).
 */
export function Loaded<T>({
    r,
    what,
    isEmpty,
    empty,
    children,
}: {
    r: Resource<T>;
    what?: string;
    isEmpty?: (d: T) => boolean;
    empty?: ComponentChildren;
    children: (d: T) => ComponentChildren;
}) {
    if (r.error) return <ErrorState error={r.error} retry={r.reload} />;
    if (r.data === undefined) return <Loading what={what} />;
    if (isEmpty?.(r.data)) return <Empty>{empty ?? `No ${what ?? 'data'} in this time range.`}</Empty>;
    return <>{children(r.data)}</>;
}
