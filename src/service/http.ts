import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import type { AgentPG } from '../client.js';
import { nextCleanupDue } from '../cluster/nextCleanupDue.js';
import { lastCleanupPass } from '../cluster/sql/lastCleanupPass.js';
import type { Queryable } from '../db/queryable.js';
import { AgentPGError, AlreadyDecidedError, NotFoundError, SessionBusyError } from '../errors.js';
import { MAX_RUN_CONTEXT_BYTES } from '../runs/runContext.js';
import type { PendingWait } from '../runs/sql/listWaits.js';
import { seesTenant } from '../access/principal.js';
import { createAuthenticator, requireRole, type AuthEnv } from './auth.js';
import { jsonOnlyGuard, originGuard, sizeGuard } from './guards.js';
import { describeIssue, parseBody } from './parseBody.js';
import { HttpError } from './httpError.js';
import { streamRunEvents } from './runEventStream.js';
import { mountConsole } from '../console/index.js';
import { boundedObject, LIMITS, name } from './limits.js';
import type { Metrics } from './metrics.js';
import { errorForLog } from '../lifecycle/reportError.js';
import { requestTraceParent } from '../tracing/traceParent.js';
import { mountSessionRoutes } from './sessionRoutes.js';
import { retentionStatus } from '../retention/sql/retentionStatus.js';

const createSessionBody = z.object({
  agent: name(),
  // From the key when omitted and the key has exactly one tenant.
  tenantId: name().optional(),
  identifier: name(),
  metadata: boundedObject(LIMITS.metadataBytes).optional(),
});
const createRunBody = z.object({
  sessionId: z.string().uuid(),
  prompt: z.string().min(1).max(LIMITS.prompt),
  idempotencyKey: name().optional(),
  // Variables for the run's tools (ctx.context), never sent to the model.
  context: boundedObject(MAX_RUN_CONTEXT_BYTES).optional(),
  // Double texting (src/runs/multitask.ts); default: the agent's.
  multitaskStrategy: z.enum(['enqueue', 'reject', 'interrupt', 'merge']).optional(),
  // [batch] Model calls through the Message Batches API (src/batch/); default: the agent's.
  batch: z.boolean().optional(),
});
const startLongRunningBody = z.object({
  id: name().optional(),
  kind: name(),
  // Omitted on a restart: the stored config is kept.
  config: boundedObject(LIMITS.configBytes).optional(),
  /** false: create the agent without running it (POST again without it, or true, to run it). */
  active: z.boolean().optional(),
});
const decisionBody = z.object({
  toolUseId: name(),
  decision: z.enum(['approve', 'deny']),
  decidedBy: name(),
  message: z.string().max(10_000).optional(),
  input: boundedObject(LIMITS.configBytes).optional(),
});
const answerBody = z.object({
  toolUseId: name(),
  answer: z.string().max(100_000),
  answeredBy: name(),
});
const approvalsQuery = z.object({
  tenantId: name().optional(),
  agentName: name().optional(),
  runId: z.string().uuid().optional(),
});
const uuidParam = z.string().uuid();

/** A query-string integer (absent: undefined); the range is checked by client.sessions.messages. */
function pageParam(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,16}$/.test(raw))
    throw new HttpError(400, 'invalid_request_error', `${name} must be a non-negative integer`);
  return Number(raw);
}

type AppContext = Context<AuthEnv>;

function runId(c: AppContext): string {
  const id = c.req.param('id');
  if (!uuidParam.safeParse(id).success) throw new HttpError(404, 'not_found_error', `run not found: ${id}`);
  return id as string;
}

/** The tenant of a new session: the body's, which a tenant key must hold; else the key's only one. */
function sessionTenant(c: AppContext, bodyTenant: string | undefined): string {
  const principal = c.get('principal');
  if (bodyTenant !== undefined) {
    if (!seesTenant(principal, bodyTenant)) {
      throw new HttpError(403, 'permission_error', `this key cannot create sessions of tenant ${bodyTenant}`);
    }
    return bodyTenant;
  }
  if (principal.role === 'tenant' && principal.tenantIds.length === 1) return principal.tenantIds[0];
  throw new HttpError(400, 'invalid_request_error', 'tenantId: Required (this key has not exactly one tenant)');
}

export interface HttpOptions {
  /**
   * An admin key (AGENTPG_API_TOKEN). With it or any API key (src/access) in the database, every
   * route but the probes needs `Authorization: Bearer <token or key>` (/metrics too, unless metricsPublic).
   */
  apiToken?: string;
  /** /metrics without a key even when keys are required (AGENTPG_METRICS_PUBLIC=1). */
  metricsPublic?: boolean;
  /** Origins (scheme://host[:port]) whose browser requests are allowed, with CORS; '*' allows any. */
  allowedOrigins?: readonly string[];
  /** Extra metadata stamped on every run (e.g. that the offline fake model answered it). */
  runMetadata?: Record<string, unknown>;
  /** Config schemas of long-running kinds: a start with a config that fails its schema is a 400. */
  longRunningConfigSchemas?: Record<string, z.ZodType>;
  /** True while draining: /readyz answers 503 and new work is refused with 503. */
  isDraining: () => boolean;
  /** The service's own pool: API keys, the probes' cleanup status, and run rows after the client stopped. */
  db: Queryable;
  /** Aborted once client.stop() returned: open event streams end (see the events route). */
  shutdown?: AbortSignal;
  /**
   * Kinds POST /v1/long-running accepts (others are a 404). Default: the kinds this client runs;
   * the service passes its examples' so an instance with recovery off can still start them.
   */
  longRunningKinds?: string[];
}

/** The service's HTTP API over one started AgentPG client. */
export function createHttpApp(client: AgentPG, metrics: Metrics, options: HttpOptions): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.onError((err, c) => {
    if (err instanceof HttpError) {
      if (err.status === 503) c.header('retry-after', '1');
      return c.json({ error: { type: err.type, message: err.message } }, err.status);
    }
    if (err instanceof NotFoundError) return c.json({ error: { type: 'not_found_error', message: err.message } }, 404);
    if (err instanceof AlreadyDecidedError)
      return c.json({ error: { type: 'conflict_error', message: err.message } }, 409);
    if (err instanceof SessionBusyError)
      return c.json({ error: { type: 'conflict_error', message: err.message, runId: err.runId } }, 409);
    if (err instanceof AgentPGError && /invalid|config|validation/.test(err.code)) {
      return c.json({ error: { type: 'invalid_request_error', message: err.message } }, 400);
    }
    if (err instanceof AgentPGError && err.code === 'not_started') {
      // The client stopped at the end of a drain; the listener closes right after.
      return c.json({ error: { type: 'unavailable_error', message: 'this instance is shutting down' } }, 503);
    }
    client.logger.error({ err: errorForLog(err) }, 'http handler failed');
    return c.json({ error: { type: 'api_error', message: 'internal error' } }, 500);
  });
  app.notFound((c) =>
    c.json({ error: { type: 'not_found_error', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );

  // Liveness: the process answers, draining or not (a draining instance must not be restarted).
  app.get('/healthz', (c) => c.json({ ok: true, draining: options.isDraining() }));
  // Readiness (`/ready` is the same probe under the other common name): 503 from the first signal
  // on, so load balancers stop sending new work while in-flight runs finish.
  const ready = async (c: AppContext) => {
    const health = await client.health();
    const draining = options.isDraining();
    const isReady = !draining && health.running && health.databaseReachable;
    const cleanup = health.databaseReachable ? await cleanupStatus().catch(() => null) : null;
    // [retention] the cluster's last pass and what passes retired in the last 24 h
    const retention = health.databaseReachable ? await retentionStatus(options.db).catch(() => null) : null;
    return c.json({ ready: isReady, draining, ...health, cleanup, retention }, isReady ? 200 : 503);
  };
  app.get('/readyz', ready);
  app.get('/ready', ready);

  /** Whether this instance ran the cluster's last cleanup pass, and when the next one is due. */
  const cleanupStatus = async () => {
    const last = await lastCleanupPass(options.db);
    return {
      lastPassAt: last?.startedAt ?? null,
      lastPassInstanceId: last?.instanceId ?? null,
      lastPassRanHere: last?.instanceId === client.instanceId,
      lastPassError: last?.error ?? null,
      nextPassDueAt: nextCleanupDue(last, client.config.cleanupIntervalMs),
    };
  };

  // Browsers: foreign origins are refused before anything else; listed ones get CORS headers.
  const allowed = options.allowedOrigins ?? [];
  app.use('/v1/*', originGuard(allowed));
  if (allowed.length > 0) {
    app.use(
      '/v1/*',
      cors({ origin: allowed.includes('*') ? '*' : [...allowed], allowHeaders: ['authorization', 'content-type'] }),
    );
  }
  // Every /v1 route acts for the request's key (a tenant key sees only its tenants); /metrics is
  // cluster-wide, so admin and operator keys only.
  const auth = createAuthenticator({ apiToken: options.apiToken, db: options.db });
  // The web console (src/console): the same keys, presented by a login cookie or a bearer header.
  mountConsole(app, { ...options, client, auth, allowedOrigins: allowed });
  app.use('/v1/*', auth.guard());
  if (!options.metricsPublic) app.use('/metrics', auth.guard(), requireRole('admin', 'operator'));
  app.get('/metrics', async (c) => {
    const body = await metrics.render();
    return c.text(body, 200, { 'content-type': metrics.contentType });
  });
  app.use('/v1/*', jsonOnlyGuard(), sizeGuard());
  // Draining: no new sessions, runs or long-running agents (cancel and stop still work).
  const refuseWhileDraining = async (_c: AppContext, next: () => Promise<void>) => {
    if (options.isDraining()) {
      throw new HttpError(
        503,
        'unavailable_error',
        'this instance is draining (shutting down): retry on another instance',
      );
    }
    await next();
  };
  app.post('/v1/sessions', refuseWhileDraining);
  app.post('/v1/runs', refuseWhileDraining);
  app.post('/v1/long-running', refuseWhileDraining);
  // New work is for a tenant; an operator watches and stops but starts no conversation.
  app.post('/v1/sessions', requireRole('admin', 'tenant'));
  app.post('/v1/runs', requireRole('admin', 'tenant'));
  // Long-running agents belong to no tenant: the cluster's admins and operators manage them.
  app.use('/v1/long-running', requireRole('admin', 'operator'));
  app.use('/v1/long-running/*', requireRole('admin', 'operator'));

  /** The run, when it exists and its tenant is the key's; else 404 (another tenant's ids do not leak). */
  const visibleRun = async (c: AppContext, id: string) => {
    const run = await client.runs.get(id);
    if (!run || !seesTenant(c.get('principal'), run.tenantId)) {
      throw new HttpError(404, 'not_found_error', `run not found: ${id}`);
    }
    return run;
  };

  app.get('/v1/agents', (c) =>
    c.json(
      [...client.registry.agents.values()].map((a) => ({
        name: a.name,
        description: a.description ?? null,
        model: a.model,
        tools: a.tools ?? [],
      })),
    ),
  );

  app.post('/v1/sessions', async (c) => {
    const body = await parseBody(c, createSessionBody);
    if (!client.registry.agents.has(body.agent))
      throw new HttpError(404, 'not_found_error', `agent not found: ${body.agent}`);
    const id = await client.agent(body.agent).newSession({
      tenantId: sessionTenant(c, body.tenantId),
      identifier: body.identifier,
      metadata: body.metadata,
    });
    return c.json({ id }, 201);
  });

  // One page of a session's transcript: ?after=<seq>&limit=<1..1000, default 100>&archived=<true|false,
  // default false: from the latest compaction point>.
  app.get('/v1/sessions/:id/messages', async (c) => {
    const id = c.req.param('id');
    const session = uuidParam.safeParse(id).success ? await client.sessions.get(id) : null;
    if (!session || !seesTenant(c.get('principal'), session.tenantId))
      throw new HttpError(404, 'not_found_error', `session not found: ${id}`);
    const after = pageParam(c.req.query('after'), 'after');
    const limit = pageParam(c.req.query('limit'), 'limit');
    const archived = c.req.query('archived');
    if (archived !== undefined && archived !== 'true' && archived !== 'false')
      throw new HttpError(400, 'invalid_request_error', `archived must be true or false, got ${archived}`);
    return c.json(await client.sessions.messages(id, { after, limit, archived: archived === 'true' }));
  });

  // [retention] GET /v1/sessions/:id/export, PUT and DELETE /v1/sessions/:id/hold
  mountSessionRoutes(app, client);

  app.post('/v1/runs', async (c) => {
    const body = await parseBody(c, createRunBody);
    const session = await client.sessions.get(body.sessionId);
    if (!session || !seesTenant(c.get('principal'), session.tenantId)) {
      throw new HttpError(404, 'not_found_error', `session not found: ${body.sessionId}`);
    }
    if (!session.agentName || !client.registry.agents.has(session.agentName)) {
      throw new HttpError(404, 'not_found_error', `agent not found: ${session.agentName ?? '(none)'}`);
    }
    const id = await client.agent(session.agentName).enqueue(body.sessionId, body.prompt, {
      idempotencyKey: body.idempotencyKey,
      metadata: options.runMetadata,
      context: body.context,
      multitaskStrategy: body.multitaskStrategy,
      batch: body.batch,
      // The caller's W3C trace context: the run's spans join its trace. Malformed: ignored, as the
      // Trace Context spec asks of a receiver.
      traceParent: requestTraceParent(c.req.header('traceparent')),
    });
    const run = await client.runs.get(id);
    return c.json({ id, state: run?.state ?? 'queued' }, 202);
  });

  app.get('/v1/runs/:id', async (c) => {
    return c.json(await visibleRun(c, runId(c)));
  });

  app.post('/v1/runs/:id/cancel', async (c) => {
    const id = runId(c);
    await visibleRun(c, id);
    await client.runs.cancel(id);
    return c.json(await client.runs.get(id));
  });

  /**
   * One kind of wait a person ends: GET `listPath` lists them, oldest first, optionally of one
   * tenant/agent/run (a tenant key sees the waits of its own tenants only); POST `writePath` ends
   * one of a visible run: 200 with the run's state after it (`queued`: resuming).
   */
  const waitRoutes = <B>(
    listPath: string,
    waits: { list(filter: z.infer<typeof approvalsQuery>): Promise<PendingWait[]> },
    writePath: string,
    body: z.ZodType<B>,
    write: (runId: string, body: B) => Promise<{ runState: string }>,
  ) => {
    app.get(listPath, async (c) => {
      const q = approvalsQuery.safeParse(c.req.query());
      if (!q.success) throw new HttpError(400, 'invalid_request_error', describeIssue(q.error.issues[0], 'query'));
      const principal = c.get('principal');
      const pending = await waits.list(q.data);
      return c.json({ data: pending.filter((p) => seesTenant(principal, p.tenantId)) });
    });
    app.post(writePath, async (c) => {
      const id = runId(c);
      await visibleRun(c, id);
      return c.json(await write(id, await parseBody(c, body)));
    });
  };
  // Tool calls waiting for a person's approval and a decision on one; questions tools asked the
  // user (requestInput) and the answer to one.
  const { approvals, inputs } = client;
  waitRoutes('/v1/approvals', approvals, '/v1/runs/:id/decisions', decisionBody, (id, d) => approvals.decide(id, d));
  waitRoutes('/v1/inputs', inputs, '/v1/runs/:id/inputs', answerBody, (id, a) => inputs.answer(id, a));

  app.get('/v1/runs/:id/events', async (c) => {
    const id = runId(c);
    await visibleRun(c, id);
    return streamRunEvents(c, client, options, id);
  });

  app.get('/v1/long-running', async (c) => c.json(await client.longRunning.list()));
  app.post('/v1/long-running', async (c) => {
    const body = await parseBody(c, startLongRunningBody);
    const known = options.longRunningKinds ?? [...client.registry.longRunningKinds.keys()];
    if (!known.includes(body.kind)) {
      throw new HttpError(404, 'not_found_error', `long-running kind not found: ${body.kind}`);
    }
    const configSchema = options.longRunningConfigSchemas?.[body.kind];
    if (configSchema && body.config !== undefined) {
      const checked = configSchema.safeParse(body.config);
      if (!checked.success)
        throw new HttpError(400, 'invalid_request_error', describeIssue(checked.error.issues[0], 'config'));
    }
    const agent = await client.longRunning.start({
      id: body.id,
      kind: body.kind,
      config: body.config,
      active: body.active,
    });
    return c.json(agent, 201);
  });
  app.post('/v1/long-running/:id/stop', async (c) => {
    const id = c.req.param('id');
    if (!(await client.longRunning.get(id)))
      throw new HttpError(404, 'not_found_error', `long-running agent not found: ${id}`);
    await client.longRunning.stop(id);
    return c.json(await client.longRunning.get(id));
  });

  return app;
}
