import { html } from 'hono/html';
import type { Principal } from '../access/principal.js';

export type Html = ReturnType<typeof html>;

const NAV: Array<[string, string, (p: Principal) => boolean]> = [
  ['overview', '/ui', () => true],
  ['runs', '/ui/runs', () => true],
  ['sessions', '/ui/sessions', () => true],
  ['waits', '/ui/waits', () => true],
  ['long-running', '/ui/long-running', (p) => p.role !== 'tenant'],
  ['chat', '/ui/chat', (p) => p.role !== 'operator'],
];

export interface PageOptions {
  title: string;
  /** The nav entry to highlight. */
  active: string;
  principal: Principal | null;
  /**
   * What the page's script listens to: `cluster` (the console's event stream: the page's <main> is
   * re-read when a run, instance or owner it may show changes) or nothing (static page).
   */
  live?: 'cluster';
}

/**
 * Every console page: no inline script or style, so the Content-Security-Policy (`self` only) holds
 * and nothing is loaded from elsewhere (the console works offline).
 */
export function page(options: PageOptions, body: Html): Html {
  const p = options.principal;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · agentpg</title>
        <link rel="stylesheet" href="/ui/assets/console.css" />
        <script src="/ui/assets/console.js" defer></script>
      </head>
      <body data-live="${options.live ?? ''}">
        <header>
          <a class="brand" href="/ui">agentpg</a>
          ${
            p
              ? html`<nav>
                    ${NAV.filter(([, , shown]) => shown(p)).map(
                      ([name, href]) =>
                        html`<a href="${href}" class="${name === options.active ? 'active' : ''}">${name}</a>`,
                    )}
                  </nav>
                  <span class="who">${describePrincipal(p)}</span>
                  <form method="post" action="/ui/logout"><button type="submit">log out</button></form>`
              : ''
          }
        </header>
        <main id="main">${body}</main>
      </body>
    </html>`;
}

export function describePrincipal(p: Principal): string {
  const key = p.keyId ? `key ${p.keyId}` : 'token';
  return p.role === 'tenant' ? `tenant ${p.tenantIds.join(', ')} (${key})` : `${p.role} (${key})`;
}

export function stateBadge(state: string): Html {
  return html`<span class="state state-${state}" data-state="${state}">${state}</span>`;
}

export function time(d: Date | null): Html {
  if (!d) return html`<span class="muted">—</span>`;
  return html`<time datetime="${d.toISOString()}">${d.toISOString().replace('T', ' ').slice(0, 19)}</time>`;
}

/** Milliseconds between two times, as text; '—' when either is missing. */
export function duration(from: Date | null, to: Date | null): string {
  if (!from || !to) return '—';
  return formatMs(to.getTime() - from.getTime());
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A table with a header row; `empty` shown when there are no rows. */
export function table(headers: string[], rows: Html[], empty: string, attrs = ''): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table data-table="${attrs}">
    <thead>
      <tr>
        ${headers.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
