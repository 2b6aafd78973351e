// Retention's routes over one session (src/retention): its export, and its hold. Kept apart from
// http.ts, which mounts them, so each file stays about one concern.
import type { Hono } from 'hono';
import { z } from 'zod';
import type { AgentPG } from '../client.js';
import { seesTenant } from '../access/principal.js';
import type { AuthEnv } from './auth.js';
import { requireRole } from './auth.js';
import { HttpError } from './httpError.js';
import { parseBody } from './parseBody.js';
import { name } from './limits.js';

const holdBody = z.object({
  reason: z.string().max(10_000).optional(),
  // Default: the key's id (or "admin-token").
  heldBy: name().optional(),
});

export function mountSessionRoutes(app: Hono<AuthEnv>, client: AgentPG): void {
  /** The session's tenant, when the key sees it; else 404 (another tenant's ids do not leak). */
  const visibleSession = async (principal: AuthEnv['Variables']['principal'], id: string) => {
    const session = z.string().uuid().safeParse(id).success ? await client.sessions.get(id) : null;
    if (!session || !seesTenant(principal, session.tenantId))
      throw new HttpError(404, 'not_found_error', `session not found: ${id}`);
    return session;
  };

  // Everything stored about the session as one JSON document (client.sessions.export), e.g. before
  // retention deletes it. Tenant keys export their own tenants' sessions.
  app.get('/v1/sessions/:id/export', async (c) => {
    const id = c.req.param('id');
    await visibleSession(c.get('principal'), id);
    const doc = await client.sessions.export(id);
    c.header('content-disposition', `attachment; filename="session-${id}.json"`);
    return c.json(doc);
  });

  // A hold (legal hold) keeps retention off the session and its child sessions. Set and lifted by
  // the cluster's admins and operators only: a tenant cannot lift a hold put on its data.
  app.use('/v1/sessions/:id/hold', requireRole('admin', 'operator'));
  app.put('/v1/sessions/:id/hold', async (c) => {
    const id = c.req.param('id');
    await visibleSession(c.get('principal'), id);
    const body = await parseBody(c, holdBody);
    const principal = c.get('principal');
    const hold = await client.sessions.hold(id, {
      reason: body.reason,
      heldBy: body.heldBy ?? (principal.keyId ? `key:${principal.keyId}` : 'admin-token'),
    });
    return c.json(hold);
  });
  app.delete('/v1/sessions/:id/hold', async (c) => {
    const id = c.req.param('id');
    await visibleSession(c.get('principal'), id);
    return c.json({ released: await client.sessions.releaseHold(id) });
  });
}
