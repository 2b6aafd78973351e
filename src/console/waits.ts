import type { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { seesTenant, type Principal } from '../access/principal.js';
import { listPendingApprovals } from '../runs/sql/approvals.js';
import { listPendingInputs } from '../runs/sql/inputRequests.js';
import { jsonOnlyGuard, sizeGuard } from '../service/guards.js';
import { name } from '../service/limits.js';
import { parseBody } from '../service/parseBody.js';
import type { ConsoleDeps } from './deps.js';
import { page } from './layout.js';
import type { ConsoleEnv } from './login.js';
import { visibleRun } from './runDetail.js';
import { waitsSections } from './waitForms.js';

// The person deciding is the key that logged in: the form does not say who decided, the cookie does.
const decisionBody = z.object({
  toolUseId: name(),
  decision: z.enum(['approve', 'deny']),
  message: z.string().max(10_000).optional(),
});
const answerBody = z.object({
  toolUseId: name(),
  answer: z.string().min(1).max(100_000),
});

/** Who a decision or an answer made in the console is recorded as (decided_by / answered_by). */
export function consoleActor(p: Principal): string {
  return `console:${p.keyId ?? 'token'}`;
}

/**
 * GET /ui/waits: every tool call waiting for a person that this key may see (approvals and
 * questions), oldest first, each with its form. POST /ui/runs/:id/decisions {toolUseId, decision,
 * message?} and POST /ui/runs/:id/inputs {toolUseId, answer}: the same decide and answer as the API
 * (client.approvals.decide / client.inputs.answer, 409 when already decided), recorded as the
 * logged-in key. Every role may decide, as on /v1; a tenant key only on its tenants' runs (404
 * otherwise, as for a run that does not exist).
 */
export function mountWaits(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui/waits', async (c) => {
    const principal = c.get('principal');
    const [approvals, inputs] = await Promise.all([listPendingApprovals(deps.db, {}), listPendingInputs(deps.db, {})]);
    const body = html`<h1>Waiting for a person</h1>
      ${waitsSections(
        approvals.filter((a) => seesTenant(principal, a.tenantId)),
        inputs.filter((i) => seesTenant(principal, i.tenantId)),
        { withRun: true, empty: 'Nothing is waiting for a decision or an answer.' },
      )}`;
    return c.html(page({ title: 'Waits', active: 'waits', principal }, body));
  });

  app.post('/ui/runs/:id/decisions', jsonOnlyGuard(), sizeGuard(), async (c) => {
    const run = await visibleRun(c, deps);
    const body = await parseBody(c, decisionBody);
    return c.json(await deps.client.approvals.decide(run.id, { ...body, decidedBy: consoleActor(c.get('principal')) }));
  });

  app.post('/ui/runs/:id/inputs', jsonOnlyGuard(), sizeGuard(), async (c) => {
    const run = await visibleRun(c, deps);
    const body = await parseBody(c, answerBody);
    return c.json(await deps.client.inputs.answer(run.id, { ...body, answeredBy: consoleActor(c.get('principal')) }));
  });
}
