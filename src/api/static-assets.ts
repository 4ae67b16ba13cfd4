/**
 * Serves the built dashboard at `/`: files from an asset source (the `web/dist` directory today,
 * the single binary's embedded assets later: anything that implements `AssetSource`), the SPA's
 * index.html for client routes (paths without a file extension outside the server's own
 * prefixes), content types by extension, `immutable` caching for Vite's hashed `assets/` files and
 * `no-cache` for the rest, and a Content-Security-Policy that allows only this origin. With no
 * build, `/` says how to make one.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, posix, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MiddlewareHandler } from 'hono';

/**
 * Where the dashboard's files come from. The single binary's embedded files
 * (src/build/embedded-assets.ts `seaAssets`) have this shape too, so either serves.
 */
export interface AssetSource {
  /** Where the assets come from, for logs and the no-build page: `embedded` or a directory. */
  readonly origin: string;
  /** The bytes of `path` (relative, `/`-separated, already checked: `index.html`, `assets/app-1a2b3c4d.js`), or undefined. */
  read(path: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
}

/** Assets from a directory on disk, read on each request (a rebuild shows without a restart). */
export class DirectoryAssets implements AssetSource {
  readonly origin: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
    this.origin = this.#root;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const file = resolve(this.#root, path);
    // Belt and braces: the path was normalised already, but never leave the root.
    if (!file.startsWith(this.#root + sep)) return undefined;
    try {
      if (!(await stat(file)).isFile()) return undefined;
      return await readFile(file);
    } catch {
      return undefined;
    }
  }
}

/** `web/dist` of this checkout: where the web build (Vite) writes the dashboard. */
export function defaultDashboardAssets(): AssetSource {
  return new DirectoryAssets(fileURLToPath(new URL('../../web/dist/', import.meta.url)));
}

/** Paths the server answers itself: never the SPA's, even when nothing there matches. */
const SERVER_PREFIXES = ['/api/', '/agent/', '/metrics', '/ca.crt', '/healthz'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Only this origin's scripts, styles, images and connections (the stream's WebSocket is
 * same-origin, which 'self' covers); inline styles are allowed because chart libraries set them,
 * inline scripts are not. No framing: the dashboard's buttons must not be clickjacked.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Vite names built files `assets/name-HASH.ext`, the hash 8 characters of base64url. */
const HASHED_ASSET = /(^|\/)assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** The request path as a relative asset path, or undefined if it could point outside the assets. */
export function assetPath(urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const normal = posix.normalize(decoded);
  if (normal.split('/').includes('..')) return undefined;
  const relative = normal.replace(/^\/+/, '');
  return relative === '' ? 'index.html' : relative;
}

export function isServerPath(urlPath: string): boolean {
  return SERVER_PREFIXES.some(
    (prefix) => urlPath === prefix.replace(/\/$/, '') || urlPath.startsWith(prefix),
  );
}

/** What to send for a request path: a file, the SPA's index for a client route, or nothing. */
export type AssetPlan =
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly cacheControl: string;
      readonly contentType: string;
    }
  | { readonly kind: 'index' }
  | { readonly kind: 'none' };

export function planAsset(urlPath: string): AssetPlan {
  if (isServerPath(urlPath)) return { kind: 'none' };
  const path = assetPath(urlPath);
  if (path === undefined) return { kind: 'none' };
  if (path === 'index.html') return { kind: 'index' };
  const extension = extname(path);
  // No extension: a client route (`/services/web`), answered by the app's index.
  if (extension === '') return { kind: 'index' };
  return {
    kind: 'file',
    path,
    cacheControl: HASHED_ASSET.test(path) ? IMMUTABLE : 'no-cache',
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
  };
}

function notBuiltPage(source: AssetSource): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Skiff</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Skiff is running; its dashboard is not built</h1>
<p>The server looks for the dashboard in ${escapeHtml(source.origin === 'embedded' ? 'the files this binary embeds' : source.origin)} and found no <code>index.html</code>.</p>
<p>Build it from the repository: <code>npm install</code> (its prepare step runs the web build), or
<code>node_modules/.bin/vite build web</code>, then reload this page. The API is at <code>/api</code>;
<code>skiff top</code> shows the cluster live in a terminal.</p>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function securityHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': DASHBOARD_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  };
}

/** Mounted after every route: answers GET/HEAD for what no route did. */
export function staticAssets(source: AssetSource): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    const plan = planAsset(new URL(c.req.url).pathname);
    if (plan.kind === 'none') return next();
    const respond = (body: Uint8Array | string, status: 200 | 404, headers: Record<string, string>) =>
      new Response(c.req.method === 'HEAD' ? null : body, { status, headers });
    if (plan.kind === 'file') {
      // A build with relative asset URLs (Vite's `base: './'`) loaded at a client route
      // (`/services/web`) asks for `/services/assets/…`: the same file as `/assets/…`.
      const nested = /^.+\/(assets\/[^/]+)$/.exec(plan.path)?.[1];
      const bytes = (await source.read(plan.path)) ?? (nested ? await source.read(nested) : undefined);
      if (bytes)
        return respond(bytes, 200, {
          ...securityHeaders(plan.contentType),
          'Cache-Control': plan.cacheControl,
        });
      return respond('not found\n', 404, securityHeaders('text/plain; charset=utf-8'));
    }
    const index = await source.read('index.html');
    const html = securityHeaders('text/html; charset=utf-8');
    if (index) return respond(index, 200, { ...html, 'Cache-Control': 'no-cache' });
    return respond(notBuiltPage(source), 200, { ...html, 'Cache-Control': 'no-store' });
  };
}
