import type { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { seesTenant, type Principal } from '../access/principal.js';
import { isUuid } from '../runs/rows.js';
import { requireRole } from '../service/auth.js';
import { HttpError } from '../service/httpError.js';
import { parseBody } from '../service/parseBody.js';
import { jsonOnlyGuard, sizeGuard } from '../service/guards.js';
import { LIMITS, name } from '../service/limits.js';
import type { ConsoleDeps } from './deps.js';
import { page, type Html } from './layout.js';
import type { ConsoleEnv } from './login.js';

const chatBody = z.object({
  agent: name(),
  tenantId: name().optional(),
  prompt: z.string().min(1).max(LIMITS.prompt),
  /** Continue this session (the page sends the one its first message created). */
  sessionId: z.string().max(100).optional(),
});

/**
 * GET /ui/chat: a prompt box; the script posts to /ui/chat and follows the run's event stream.
 * POST /ui/chat {agent, tenantId?, prompt, sessionId?} → 202 {sessionId, runId}: a new session on
 * the first message (tenant from the key as in POST /v1/sessions), then a run on it. Starting work
 * is for admin and tenant keys, as in the API.
 */
export function mountChat(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui/chat', requireRole('admin', 'tenant'), (c) => {
    const principal = c.get('principal');
    const agents = [...deps.client.registry.agents.values()];
    const body = html`<h1>Chat</h1>
      <form id="chat-form" class="chat-form">
        <label
          >agent
          <select name="agent">
            ${agents.map((a) => html`<option value="${a.name}">${a.name}: ${a.description ?? ''}</option>`)}
          </select></label
        >
        ${tenantField(principal)}
        <input type="hidden" name="sessionId" value="" />
        <textarea
          name="prompt"
          rows="3"
          required
          placeholder="Ask something (the weather agent calls tools)"
        ></textarea>
        <button type="submit">Send</button>
      </form>
      <p class="muted" id="chat-session"></p>
      <div id="chat-log" class="conversation" aria-live="polite"></div>`;
    return c.html(page({ title: 'Chat', active: 'chat', principal }, body));
  });

  app.post('/ui/chat', requireRole('admin', 'tenant'), jsonOnlyGuard(), sizeGuard(), async (c) => {
    if (deps.isDraining()) throw new HttpError(503, 'unavailable_error', 'this instance is draining: retry on another');
    const body = await parseBody(c, chatBody);
    const principal = c.get('principal');
    let sessionId = body.sessionId;
    let agentName = body.agent;
    if (sessionId) {
      const session = isUuid(sessionId) ? await deps.client.sessions.get(sessionId) : null;
      if (!session || !seesTenant(principal, session.tenantId))
        throw new HttpError(404, 'not_found_error', `session not found: ${sessionId.slice(0, 100)}`);
      agentName = session.agentName ?? agentName;
    }
    if (!deps.client.registry.agents.has(agentName))
      throw new HttpError(404, 'not_found_error', `agent not found: ${agentName}`);
    if (!sessionId) {
      sessionId = await deps.client.agent(agentName).newSession({
        tenantId: chatTenant(principal, body.tenantId),
        identifier: `console:${principal.keyId ?? 'token'}`,
      });
    }
    const runId = await deps.client.agent(agentName).enqueue(sessionId, body.prompt, { metadata: deps.runMetadata });
    return c.json({ sessionId, runId }, 202);
  });
}

/** The tenant of a chat's new session: the key's only tenant, else the form's, which the key must see. */
function chatTenant(principal: Principal, tenantId: string | undefined): string {
  if (tenantId === undefined && principal.role === 'tenant' && principal.tenantIds.length === 1)
    return principal.tenantIds[0];
  if (tenantId === undefined) throw new HttpError(400, 'invalid_request_error', 'tenantId: Required');
  if (!seesTenant(principal, tenantId))
    throw new HttpError(403, 'permission_error', `this key cannot create sessions of tenant ${tenantId}`);
  return tenantId;
}

function tenantField(principal: Principal): Html {
  if (principal.role !== 'tenant') {
    return html`<label>tenant <input name="tenantId" value="console" required /></label>`;
  }
  if (principal.tenantIds.length === 1) return html`<span class="muted">tenant ${principal.tenantIds[0]}</span>`;
  return html`<label
    >tenant
    <select name="tenantId">
      ${principal.tenantIds.map((t) => html`<option value="${t}">${t}</option>`)}
    </select></label
  >`;
}
