/**
 * Bookmarkable views in the URL's fragment (`#/services/web?tab=logs`): the server serves one
 * page at `/`, and every view, filter and tab can still be linked and shared.
 */
import { useSyncExternalStore } from 'react';

export interface Route {
  /** `['services', 'web']` for `#/services/web`. */
  readonly segments: readonly string[];
  readonly params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const at = text.indexOf('?');
  const path = at === -1 ? text : text.slice(0, at);
  const query = at === -1 ? '' : text.slice(at + 1);
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  return { segments, params: new URLSearchParams(query) };
}

export function href(segments: readonly string[], params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== '') query.set(key, value);
  const text = query.toString();
  return `#/${segments.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`;
}

export function navigate(to: string): void {
  window.location.hash = to;
}

/** Changes a query parameter of the current view without adding a history entry per keystroke. */
export function replaceParam(name: string, value: string | undefined): void {
  const route = parseHash(window.location.hash);
  const params: Record<string, string> = {};
  for (const [key, v] of route.params) params[key] = v;
  if (value === undefined || value === '') delete params[name];
  else params[name] = value;
  history.replaceState(null, '', href(route.segments, params));
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}

export function useRoute(): Route {
  return parseHash(useHash());
}
