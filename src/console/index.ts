import { readFileSync } from 'node:fs';
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { HttpError } from '../service/httpError.js';
import { originGuard } from '../service/guards.js';
import { mountChat } from './chat.js';
import type { ConsoleDeps } from './deps.js';
import { page } from './layout.js';
import { consoleGuard, mountLogin, type ConsoleEnv } from './login.js';
import { mountLongRunning } from './longRunningPage.js';
import { mountOverview } from './overview.js';
import { mountRunDetail } from './runDetail.js';
import { mountRuns } from './runsPage.js';
import { mountSessions } from './sessionsPage.js';
import { mountStreams } from './streams.js';
import { mountWaits } from './waits.js';

export type { ConsoleDeps } from './deps.js';

/** The console's script and style, read once: served by the service itself (no CDN, works offline). */
const ASSETS: Record<string, { type: string; body: string }> = {
  'console.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('./assets/console.js', import.meta.url), 'utf8'),
  },
  'console.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('./assets/console.css', import.meta.url), 'utf8'),
  },
};

/**
 * Same-origin resources only (the assets above), no framing (clickjacking), forms post only here.
 * No inline script or style anywhere in the console, so nothing needs 'unsafe-inline'.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/**
 * The web console at /ui (README "Console"): server-rendered pages over the service's own pool,
 * live through the NOTIFY-fed event streams, behind the same API keys as /v1 (login.ts says how a
 * browser presents one).
 */
export function mountConsole(app: Hono<ConsoleEnv>, deps: ConsoleDeps & { allowedOrigins: readonly string[] }): void {
  // '/ui/*' matches /ui itself too (Hono): one registration covers every console path.
  app.use('/ui/*', async (c, next) => {
    await next();
    // A page request that failed: the same status, as a page rather than the API's JSON.
    const err = c.error;
    if (err instanceof HttpError && (c.req.header('accept') ?? '').includes('text/html')) {
      const principal = c.get('principal') ?? null;
      c.res = await c.html(
        page(
          { title: 'Error', active: '', principal },
          html`<h1>${err.status}</h1>
            <p class="error">${err.message}</p>`,
        ),
        err.status,
      );
    }
    c.header('content-security-policy', CSP);
    c.header('x-frame-options', 'DENY');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
  });
  // Foreign origins are refused before anything else, as on /v1.
  app.use('/ui/*', originGuard(deps.allowedOrigins));
  app.get('/ui/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) throw new HttpError(404, 'not_found_error', 'no such asset');
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
  });
  mountLogin(app, deps.auth);
  app.get('/ui/', (c) => c.redirect('/ui', 301));
  app.use('/ui/*', consoleGuard(deps.auth));
  mountOverview(app, deps);
  mountRuns(app, deps);
  mountRunDetail(app, deps);
  mountWaits(app, deps);
  mountStreams(app, deps);
  mountSessions(app, deps);
  mountLongRunning(app, deps);
  mountChat(app, deps);
}
