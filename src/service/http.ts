import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { AgentPG } from '../client.js';
import { AgentPGError, NotFoundError } from '../errors.js';
import type { Metrics } from './metrics.js';

/** An HTTP error in the API's one shape: `{ "error": { "type", "message" } }`. */
class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 503,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const createSessionBody = z.object({
  agent: z.string().min(1),
  tenantId: z.string().min(1).max(255),
  identifier: z.string().min(1).max(255),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
const createRunBody = z.object({
  sessionId: z.string().uuid(),
  prompt: z.string().min(1),
  idempotencyKey: z.string().min(1).max(255).optional(),
});
const startLongRunningBody = z.object({
  id: z.string().min(1).max(255).optional(),
  kind: z.string().min(1),
  config: z.record(z.string(), z.unknown()).optional(),
});
const uuidParam = z.string().uuid();

async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HttpError(400, 'invalid_request_error', 'body must be JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, 'invalid_request_error', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

function runId(c: Context): string {
  const id = c.req.param('id');
  if (!uuidParam.safeParse(id).success) throw new HttpError(404, 'not_found_error', `run not found: ${id}`);
  return id as string;
}

export interface HttpOptions {
  /** When set, every route but the probes needs `Authorization: Bearer <token>`. */
  apiToken?: string;
  /** Extra metadata stamped on every run (e.g. that the offline fake model answered it). */
  runMetadata?: Record<string, unknown>;
  /** False while draining: /readyz answers 503. */
  isReady: () => boolean;
}

/** The service's HTTP API over one started AgentPG client. */
export function createHttpApp(client: AgentPG, metrics: Metrics, options: HttpOptions): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: { type: err.type, message: err.message } }, err.status);
    if (err instanceof NotFoundError) return c.json({ error: { type: 'not_found_error', message: err.message } }, 404);
    if (err instanceof AgentPGError && /invalid|config|validation/.test(err.code)) {
      return c.json({ error: { type: 'invalid_request_error', message: err.message } }, 400);
    }
    client.logger.error({ err: { message: err.message } }, 'http handler failed');
    return c.json({ error: { type: 'api_error', message: 'internal error' } }, 500);
  });
  app.notFound((c) => c.json({ error: { type: 'not_found_error', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const health = await client.health();
    const ready = options.isReady() && health.running && health.databaseReachable;
    return c.json({ ready, ...health }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    const body = await metrics.render();
    return c.text(body, 200, { 'content-type': metrics.contentType });
  });

  if (options.apiToken) {
    const expected = Buffer.from(`Bearer ${options.apiToken}`);
    app.use('/v1/*', async (c, next) => {
      const got = Buffer.from(c.req.header('authorization') ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        throw new HttpError(401, 'authentication_error', 'missing or wrong bearer token');
      }
      await next();
    });
  }

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
    if (!client.registry.agents.has(body.agent)) throw new HttpError(404, 'not_found_error', `agent not found: ${body.agent}`);
    const id = await client.agent(body.agent).newSession({
      tenantId: body.tenantId,
      identifier: body.identifier,
      metadata: body.metadata,
    });
    return c.json({ id }, 201);
  });

  app.post('/v1/runs', async (c) => {
    const body = await parseBody(c, createRunBody);
    const session = await client.sessions.get(body.sessionId);
    if (!session) throw new HttpError(404, 'not_found_error', `session not found: ${body.sessionId}`);
    if (!session.agentName || !client.registry.agents.has(session.agentName)) {
      throw new HttpError(404, 'not_found_error', `agent not found: ${session.agentName ?? '(none)'}`);
    }
    const id = await client.agent(session.agentName).enqueue(body.sessionId, body.prompt, {
      idempotencyKey: body.idempotencyKey,
      metadata: options.runMetadata,
    });
    const run = await client.runs.get(id);
    return c.json({ id, state: run?.state ?? 'queued' }, 202);
  });

  app.get('/v1/runs/:id', async (c) => {
    const run = await client.runs.get(runId(c));
    if (!run) throw new HttpError(404, 'not_found_error', `run not found: ${c.req.param('id')}`);
    return c.json(run);
  });

  app.post('/v1/runs/:id/cancel', async (c) => {
    const id = runId(c);
    if (!(await client.runs.get(id))) throw new HttpError(404, 'not_found_error', `run not found: ${id}`);
    await client.runs.cancel(id);
    return c.json(await client.runs.get(id));
  });

  app.get('/v1/runs/:id/events', async (c) => {
    const id = runId(c);
    if (!(await client.runs.get(id))) throw new HttpError(404, 'not_found_error', `run not found: ${id}`);
    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => abort.abort());
      // ?replay=1: the run's stored turns first (a browser reconnecting mid-run).
      const replay = ['1', 'true'].includes(c.req.query('replay') ?? '');
      for await (const event of client.runs.stream(id, { signal: abort.signal, replay })) {
        await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
      }
    });
  });

  app.get('/v1/long-running', async (c) => c.json(await client.longRunning.list()));
  app.post('/v1/long-running', async (c) => {
    const body = await parseBody(c, startLongRunningBody);
    if (!client.registry.longRunningKinds.has(body.kind)) {
      throw new HttpError(404, 'not_found_error', `long-running kind not found: ${body.kind}`);
    }
    const agent = await client.longRunning.start({ id: body.id, kind: body.kind, config: body.config ?? {} });
    return c.json(agent, 201);
  });
  app.post('/v1/long-running/:id/stop', async (c) => {
    const id = c.req.param('id');
    if (!(await client.longRunning.get(id))) throw new HttpError(404, 'not_found_error', `long-running agent not found: ${id}`);
    await client.longRunning.stop(id);
    return c.json(await client.longRunning.get(id));
  });

  return app;
}
