import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { AuthEnv, Authenticator } from '../service/auth.js';
import { bearerToken } from '../service/auth.js';
import { HttpError } from '../service/httpError.js';
import { page } from './layout.js';

/**
 * How a browser authenticates to the console. A browser cannot send `Authorization: Bearer` when it
 * follows a link, so /ui/login takes the API key in a form and stores it in a cookie:
 *
 * - `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page or link makes the
 *   browser send it), `Path=/ui` (the /v1 API never reads cookies), `Secure` over HTTPS, 8 hours.
 * - The cookie holds the key itself and every request verifies it exactly like a bearer header
 *   (sha256 of the secret against its row, src/access/keys.ts): nothing to sign, no server secret
 *   to share between instances, and a revoked key stops working on every instance at the next
 *   request. Logging out deletes the cookie; revoking the key ends every browser's login.
 * - Writes authenticated by the cookie must come from the console's own pages: they must carry an
 *   `Origin` that is this service's (browsers always send it on POST), on top of SameSite=Strict.
 */
export const COOKIE = 'agentpg_console';
const COOKIE_MAX_AGE_S = 8 * 60 * 60;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type ConsoleEnv = AuthEnv;

function loginPage(error?: string) {
  return page(
    { title: 'Log in', active: '', principal: null },
    html`<section class="login">
      <h1>Log in to the agentpg console</h1>
      <p>Paste an API key (<code>agentpg keys create</code>) or the service's <code>AGENTPG_API_TOKEN</code>.</p>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <form method="post" action="/ui/login">
        <label>API key <input type="password" name="key" autocomplete="off" required autofocus /></label>
        <button type="submit">Log in</button>
      </form>
    </section>`,
  );
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/** /ui/login and /ui/logout. */
export function mountLogin(app: Hono<ConsoleEnv>, auth: Authenticator): void {
  app.get('/ui/login', (c) => c.html(loginPage()));
  app.post('/ui/login', bodyLimit({ maxSize: 4096 }), async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.key === 'string' ? form.key.trim() : '';
    // An open service (no token, no key) needs no login; any other answer than a principal for a
    // presented key is a wrong, unknown or revoked key.
    const principal = key ? await auth.principalOf(key) : null;
    if (!principal) {
      return c.html(loginPage('That key is wrong, unknown or revoked.'), 401);
    }
    setCookie(c, COOKIE, key, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/ui',
      secure: isHttps(c),
      maxAge: COOKIE_MAX_AGE_S,
    });
    return c.redirect('/ui', 303);
  });
  app.post('/ui/logout', (c) => {
    deleteCookie(c, COOKIE, { path: '/ui' });
    return c.redirect('/ui/login', 303);
  });
}

/**
 * Who a console request acts for: a bearer header (scripts, curl) or the login cookie. Without a
 * valid one, a page request is sent to /ui/login (303) and anything else (event streams, chat
 * posts) gets 401.
 */
export function consoleGuard(auth: Authenticator): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const bearer = bearerToken(c);
    const cookie = bearer === undefined ? getCookie(c, COOKIE) : undefined;
    const principal = await auth.principalOf(bearer ?? cookie);
    if (!principal) {
      if (cookie !== undefined) deleteCookie(c, COOKIE, { path: '/ui' }); // revoked or stale
      const wantsPage = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
      if (wantsPage) return c.redirect('/ui/login', 303);
      throw new HttpError(401, 'authentication_error', 'log in at /ui/login, or send a bearer key');
    }
    if (cookie !== undefined && WRITE_METHODS.has(c.req.method) && !sameOrigin(c)) {
      throw new HttpError(403, 'permission_error', 'console writes must come from the console page (Origin)');
    }
    c.set('principal', principal);
    await next();
  };
}

/** The request's Origin is this service's own (a foreign one was already refused by originGuard). */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  const host = c.req.header('host');
  return origin !== undefined && host !== undefined && [`http://${host}`, `https://${host}`].includes(origin);
}
