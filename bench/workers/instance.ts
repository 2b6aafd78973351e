/**
 * One agentpg instance as its own process, driven by the benchmark / chaos harness over IPC.
 * Config: env BENCH_WORKER (JSON, see InstanceWorkerConfig). It reports `ready`, long-running
 * handler starts/stops (`lr_start` / `lr_stop`, wall clock `t`), and answers commands.
 * Wall clock everywhere: performance.timeOrigin + performance.now() (same machine, same clock).
 */
import fs from 'node:fs';
import pg from 'pg';
import { AgentPG } from '../../src/client.js';
import type { AgentPGConfig } from '../../src/config.js';
import type { LongRunningContext } from '../../src/ownership/types.js';
import { enqueue, newSession, startLongRunning } from '../lib/agentpgApi.js';
import { BENCH_AGENT } from '../lib/limitCalls.js';
import { connectRedis, type RedisClient } from '../lib/redis.js';

export interface InstanceWorkerConfig {
  databaseUrl: string;
  instanceId: string;
  modelUrl?: string;
  runConcurrency?: number;
  poolSize?: number;
  /** Register the single-turn agent `bench` (and `chaos`, which may call the `record` tool). */
  agents?: boolean;
  /** Register the agent `waiter` and its tool `approve_me`, which needs approval (runs that wait). */
  waitTool?: boolean;
  /** Register the `record` tool: every execution is logged in chaos_tool_executions. */
  recordTool?: boolean;
  longRunning?: {
    kind: string;
    /** events: an IPC message per handler start/stop; count: only counters (100k agents). */
    report: 'events' | 'count';
    /** Fenced write (insert into bench_fenced_writes through ctx.fenced) this often; 0 = none. */
    fencedEveryMs?: number;
  };
  ownership?: AgentPGConfig['ownership'];
  cluster?: Partial<
    Pick<AgentPGConfig, 'heartbeatIntervalMs' | 'instanceTtlMs' | 'cleanupIntervalMs' | 'shutdownTimeoutMs'>
  >;
  /** Subscribe to run_state_changed and report each callback (`event`, wall clock). */
  subscribeEvents?: boolean;
  /**
   * Report the runs this process claims and finalizes (`step` { step, runId, t }) from
   * config.onRunStep, right after each commit: where a run started (bench/metrics/enqueueToStart.ts).
   */
  reportSteps?: boolean;
  /**
   * Capability routing (bench/metrics/routing.ts): the agent `routed` lists the tool
   * `routed_lookup`. capable: both registered; no_tool: the agent without its tool (it can enqueue
   * the agent's runs, never runs them); no_agent: neither.
   */
  routing?: 'capable' | 'no_tool' | 'no_agent';
}

const cfg = JSON.parse(process.env.BENCH_WORKER ?? '{}') as InstanceWorkerConfig;
const now = () => performance.timeOrigin + performance.now();
const send = (m: Record<string, unknown>) => {
  if (process.connected) process.send?.(m);
};

let running = 0;
let startedTotal = 0;
let staleRejections = 0;
let backgroundErrors = 0;
let toolPool: pg.Pool | null = null;
let redis: RedisClient | null = null;

async function fencedLoop(ctx: LongRunningContext, everyMs: number): Promise<void> {
  let seq = 0;
  while (!ctx.signal.aborted) {
    try {
      await ctx.fenced(async (c) => {
        await c.query('insert into bench_fenced_writes (agent_id, epoch, instance_id, seq) values ($1, $2, $3, $4)', [
          ctx.agentId,
          ctx.epoch,
          cfg.instanceId,
          ++seq,
        ]);
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'stale_owner' || (err as Error).name === 'StaleOwnerError')
        staleRejections++;
      else if (!ctx.signal.aborted)
        send({ type: 'fenced_error', agentId: ctx.agentId, message: String((err as Error).message) });
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, everyMs);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

const config: AgentPGConfig = {
  databaseUrl: cfg.databaseUrl,
  instanceId: cfg.instanceId,
  migrate: false,
  anthropic: cfg.modelUrl ? { baseURL: cfg.modelUrl, apiKey: 'bench' } : undefined,
  runConcurrency: cfg.runConcurrency,
  poolSize: cfg.poolSize,
  ...cfg.cluster,
  onError: () => {
    backgroundErrors++;
  },
  logger: undefined,
};
if (cfg.reportSteps) {
  config.onRunStep = (step, info) => {
    if (step === 'claimed' || step === 'finalized') send({ type: 'step', step, runId: info.runId, t: now() });
  };
}
if (cfg.agents) {
  config.agents = [
    BENCH_AGENT,
    ...(cfg.recordTool ? [{ name: 'chaos', model: 'claude-bench', maxTokens: 64, tools: ['record'] }] : []),
  ];
}
if (cfg.waitTool) {
  config.agents = [
    ...(config.agents ?? []),
    { name: 'waiter', model: 'claude-bench', maxTokens: 64, tools: ['approve_me'] },
  ];
  config.tools = [
    ...(config.tools ?? []),
    {
      name: 'approve_me',
      description: 'Needs a person to approve it.',
      inputSchema: { type: 'object', properties: {} },
      needsApproval: true,
      execute: () => 'approved and done',
    },
  ];
}
if (cfg.routing === 'capable' || cfg.routing === 'no_tool') {
  config.agents = [
    ...(config.agents ?? []),
    { name: 'routed', model: 'claude-bench', maxTokens: 64, tools: ['routed_lookup'] },
  ];
}
if (cfg.routing === 'capable') {
  config.tools = [
    ...(config.tools ?? []),
    {
      name: 'routed_lookup',
      description: 'Looks something up (only the capable instance has it).',
      inputSchema: { type: 'object', properties: {} },
      execute: () => 'found',
    },
  ];
}
if (cfg.recordTool) {
  toolPool = new pg.Pool({
    connectionString: cfg.databaseUrl,
    max: 4,
    application_name: `agentpg-bench-tool:${cfg.instanceId}`,
  });
  toolPool.on('error', () => {});
  config.tools = [
    ...(config.tools ?? []),
    {
      name: 'record',
      description: 'Records that it was executed.',
      inputSchema: { type: 'object', properties: { note: { type: 'string' } } },
      // Durable before it returns: the execution log row commits first (the chaos invariant
      // "no stored tool result executed twice" compares it with agentpg_tool_calls).
      execute: async (_input: unknown, ctx: { runId: string; idempotencyKey: string; attempt: number }) => {
        // When agentpg invoked the tool (this process's clock, the server's too on one machine):
        // the row may land later than that (a process frozen right after the call began).
        const invokedAt = new Date();
        await toolPool!.query(
          'insert into chaos_tool_executions (tool_use_id, run_id, instance_id, attempt, invoked_at) values ($1, $2, $3, $4, $5)',
          [ctx.idempotencyKey, ctx.runId, cfg.instanceId, ctx.attempt, invokedAt],
        );
        return 'recorded';
      },
    },
  ];
}
if (cfg.longRunning) {
  const lr = cfg.longRunning;
  config.longRunning = [
    {
      kind: lr.kind,
      handler: async (ctx: LongRunningContext) => {
        running++;
        startedTotal++;
        // The handler's interval ends when its signal aborts: from then on it must not act (a
        // write it has in flight is the fence's business). `lr_return` says when it returned.
        let stopped = false;
        const reportStop = () => {
          if (stopped) return;
          stopped = true;
          running--;
          if (lr.report === 'events') {
            send({
              type: 'lr_stop',
              agentId: ctx.agentId,
              epoch: ctx.epoch,
              instanceId: cfg.instanceId,
              reason: ctx.abortReason,
              t: now(),
            });
          }
        };
        if (lr.report === 'events')
          send({ type: 'lr_start', agentId: ctx.agentId, epoch: ctx.epoch, instanceId: cfg.instanceId, t: now() });
        ctx.signal.addEventListener('abort', reportStop, { once: true });
        try {
          if (lr.fencedEveryMs) await fencedLoop(ctx, lr.fencedEveryMs);
          else if (!ctx.signal.aborted)
            await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
        } finally {
          reportStop();
          if (lr.report === 'events') send({ type: 'lr_return', agentId: ctx.agentId, epoch: ctx.epoch, t: now() });
        }
      },
    },
  ];
}
if (cfg.ownership) config.ownership = cfg.ownership;

const client = new AgentPG(config);
let resolveStarted: (p: Promise<void>) => void = () => {};
const started = new Promise<void>((resolve, reject) => {
  resolveStarted = (p) => void p.then(resolve, reject);
});
// A failed start() ends the process (the harness sees the exit and the error on stderr).
started.catch((err) => {
  process.stderr.write(`instance start failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
function rssKb(): number {
  try {
    const status = fs.readFileSync(`/proc/${process.pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) : Math.round(process.memoryUsage().rss / 1024);
  } catch {
    return Math.round(process.memoryUsage().rss / 1024);
  }
}

async function enqueueMany(m: { agent: string; count: number; sessions: number; concurrency: number; prompt: string }) {
  const sessionIds: string[] = [];
  for (let i = 0; i < m.sessions; i++)
    sessionIds.push(await newSession(client, m.agent, 'bench-tenant', `bench-${cfg.instanceId}-${i}`));
  const t0 = now();
  const runIds: string[] = new Array(m.count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(m.concurrency, m.count) }, async () => {
      while (next < m.count) {
        const i = next++;
        runIds[i] = await enqueue(client, m.agent, sessionIds[i % sessionIds.length], m.prompt);
      }
    }),
  );
  return { t0, t1: now(), runIds };
}

let timedSessions = 0;
/**
 * One run in a session of its own (created first, not timed), enqueued when the harness says so;
 * reports right before enqueue() was called (`t0`) and when it returned (`t`), wall clock. A session of its own: the pick-up reads the
 * session's whole conversation, and one session reused for every sample would make the later
 * samples pay for a history of hundreds of messages.
 */
async function enqueueOne(m: { agent: string; prompt: string }) {
  const session = await newSession(client, m.agent, 'bench-tenant', `timed-${cfg.instanceId}-${++timedSessions}`);
  const t0 = now();
  const runId = await enqueue(client, m.agent, session, m.prompt);
  return { runId, t0, t: now() };
}

/** Steady load for the chaos suite: `rate` runs/s over `sessions` sessions, every other one using the tool. */
const load = { timer: null as NodeJS.Timeout | null, enqueued: [] as string[], errors: 0, lastError: '' };
async function startLoad(m: { rate: number; sessions: number; agent: string }) {
  const sessions: string[] = [];
  for (let i = 0; i < m.sessions; i++) sessions.push(await newSession(client, m.agent, `tenant-${i % 5}`, `load-${i}`));
  let n = 0;
  load.timer = setInterval(() => {
    const i = n++;
    const prompt = i % 2 === 0 ? `[tool] record call ${i}` : `plain question ${i}`;
    enqueue(client, m.agent, sessions[i % sessions.length], prompt).then(
      (id) => {
        load.enqueued.push(id);
        // Reported at once: the harness keeps the list even if this process dies.
        send({ type: 'enq', runId: id });
      },
      (err) => {
        // Enqueue failed (e.g. the server is restarting): the caller knows, nothing was promised.
        load.errors++;
        load.lastError = String((err as Error).message).slice(0, 200);
      },
    );
  }, 1000 / m.rate);
}

process.on('message', async (m: { type: string; reqId?: string; [k: string]: unknown }) => {
  const reply = (body: Record<string, unknown>) => send({ ...body, reqId: m.reqId });
  try {
    if (!['lrCount', 'rss', 'stats'].includes(m.type)) await started;
    switch (m.type) {
      case 'enqueueMany':
        reply({ type: 'enqueued_many', ...(await enqueueMany(m as never)) });
        break;
      case 'enqueueOne':
        reply({ type: 'enqueued', ...(await enqueueOne(m as never)) });
        break;
      case 'lrStart':
        for (const id of m.ids as string[]) await startLongRunning(client, id, String(m.kind));
        reply({ type: 'ok' });
        break;
      case 'redisOwn': {
        // Seed 004's lock, held by this process as if it had owned it for a while: the last
        // refresh was `phaseMs` ago, the next one comes `refreshMs - phaseMs` from now.
        const { key, ttlMs, refreshMs, phaseMs } = m as unknown as {
          key: string;
          ttlMs: number;
          refreshMs: number;
          phaseMs: number;
        };
        redis ??= await connectRedis();
        const r = redis;
        const ok = (await r.command('SET', key, cfg.instanceId, 'NX', 'PX', ttlMs - phaseMs)) === 'OK';
        const refresh = () => void r.command('SET', key, cfg.instanceId, 'XX', 'PX', ttlMs).catch(() => {});
        setTimeout(() => {
          refresh();
          setInterval(refresh, refreshMs);
        }, refreshMs - phaseMs);
        reply({ type: 'redis_owned', ok });
        break;
      }
      case 'loadStart':
        await startLoad(m as never);
        reply({ type: 'ok' });
        break;
      case 'loadStop':
        if (load.timer) clearInterval(load.timer);
        await new Promise((r) => setTimeout(r, 2000)); // enqueues in flight settle
        reply({ type: 'load', runIds: load.enqueued, errors: load.errors, lastError: load.lastError });
        break;
      case 'cleanupPass': {
        // One cleanup pass run here and now (the soak metric times it at each table size).
        const pass = await client.runCleanupPass();
        reply({ type: 'cleanup_pass', durationMs: pass.durationMs, error: pass.error });
        break;
      }
      case 'lrCount':
        reply({ type: 'lr_count', running, startedTotal, staleRejections });
        break;
      case 'rss':
        reply({ type: 'rss', rssKb: rssKb(), heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024) });
        break;
      case 'health':
        reply({ type: 'health', health: await client.health() });
        break;
      case 'stats':
        reply({ type: 'stats', running, startedTotal, staleRejections, backgroundErrors, rssKb: rssKb() });
        break;
      case 'stop':
        await client.stop();
        await toolPool?.end().catch(() => {});
        reply({ type: 'ok' });
        process.exit(0);
        break;
      default:
        reply({ type: 'error', message: `unknown command ${m.type}` });
    }
  } catch (err) {
    reply({ type: 'error', message: (err as Error).message });
  }
});
// The harness is gone: do not linger.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => void client.stop().finally(() => process.exit(0)));

// Commands are accepted from the start (counters can be polled while start() still restores
// agents); the others wait until start() resolved.
const startedAt = now();
send({ type: 'starting', t: startedAt });
resolveStarted(
  (async () => {
    await client.start();
    if (cfg.subscribeEvents) {
      await client.events.subscribe('run_state_changed', (ev) => {
        send({ type: 'event', runId: ev.runId, state: ev.state, t: now() });
      });
    }
    send({ type: 'ready', instanceId: cfg.instanceId, pid: process.pid, t: now(), startMs: now() - startedAt });
  })(),
);
