// An in-app link (navigates without a reload) that keeps the time range unless told not to.
import type { ComponentChildren, JSX } from 'preact';

import { globalQuery, href, onLinkClick } from '../lib/router';

type Props = Omit<JSX.HTMLAttributes<HTMLAnchorElement>, 'href'> & {
    to: string; // a path
    query?: Record<string, string | number | undefined | null>;
    keepRange?: boolean; // default true
    children: ComponentChildren;
};

export function Link({ to, query = {}, keepRange = true, children, ...rest }: Props) {
    const url = href(to, { ...(keepRange ? globalQuery() : {}), ...query });
    return (
        <a href={url} onClick={onLinkClick} {...rest}>
            {children}
        </a>
    );
}
