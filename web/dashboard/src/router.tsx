/**
 * Client-side routing with the history API: real paths (/runs/ID, /sweeps/NAME, /compare?runs=a,b)
 * that the server also answers with the dashboard page, so links can be shared and reloaded.
 */
import { type MouseEvent, type ReactNode, useEffect, useState } from 'react';

const NAVIGATE = 'groklab:navigate';

export type Page =
  | { page: 'runs' }
  | { page: 'run'; id: string }
  | { page: 'compare'; ids: string[] }
  | { page: 'sweeps' }
  | { page: 'sweep'; name: string }
  | { page: 'not-found'; path: string };

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return location;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE));
  if (!options.replace) window.scrollTo(0, 0);
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export function matchPage({ path, query }: Location): Page {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'runs')) return { page: 'runs' };
  if (parts.length === 2 && parts[0] === 'runs') {
    const id = decodeSegment(parts[1]);
    if (id !== null) return { page: 'run', id };
  }
  if (parts.length === 1 && parts[0] === 'compare') {
    const ids = (query.get('runs') ?? '').split(',').filter((s) => s !== '');
    return { page: 'compare', ids: [...new Set(ids)] };
  }
  if (parts.length === 1 && parts[0] === 'sweeps') return { page: 'sweeps' };
  if (parts.length === 2 && parts[0] === 'sweeps') {
    const name = decodeSegment(parts[1]);
    if (name !== null) return { page: 'sweep', name };
  }
  return { page: 'not-found', path };
}

export const runPath = (id: string) => `/runs/${encodeURIComponent(id)}`;
export const sweepPath = (name: string) => `/sweeps/${encodeURIComponent(name)}`;
export const comparePath = (ids: string[]) => `/compare?runs=${ids.map(encodeURIComponent).join(',')}`;

/** An <a> that navigates without reloading (a modified click still opens a new tab as usual). */
export function Link(props: { to: string; children: ReactNode; className?: string; title?: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={props.to} onClick={onClick} className={props.className} title={props.title}>
      {props.children}
    </a>
  );
}
