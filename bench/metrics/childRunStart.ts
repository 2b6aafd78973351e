/**
 * child_run_start_ms: agents as tools, from a parent's tool_use stored (the COMMIT of its
 * `tool_turn_stored` step, which stores the tool call) to the child run `running` (the COMMIT of
 * the child's `claimed` step), both taken in config.onRunStep, which runs right after each commit,
 * in one process on one clock. In between: the parent's `children_started` transaction (child
 * session, run and job), the local wake, the fetch + claim of the child. One client, the parents
 * one after the other (an idle system: the latency, not a queue), each calling one child agent.
 * The model is the in-process fake (no model call lies on the measured path).
 */
import { AgentPG, defineAgent, type RunStepName, type RunStepInfo } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic, type FakeReply, type FakeRequest } from '../../src/testing/index.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import type { BenchDatabase } from '../lib/database.js';
import { round, summarize } from '../lib/stats.js';

export interface ChildRunStartValue {
  p50: number | null;
  p99: number | null;
  samples: number;
}

function model(req: FakeRequest): FakeReply {
  const last = req.body.messages.at(-1)!;
  const answered = Array.isArray(last.content) && last.content.some((b) => b.type === 'tool_result');
  const isParent = JSON.stringify(req.body.system ?? '').includes('parent');
  if (isParent && !answered) return { toolUses: [{ name: 'bench_child', input: { prompt: 'Say ok.' } }] };
  return { text: 'ok' };
}

export async function measureChildRunStart(
  ctx: BenchContext,
  db: BenchDatabase,
): Promise<MetricResult<ChildRunStartValue>> {
  const warmup = 10;
  const samples = ctx.quick ? 60 : 300;
  const fake = await startFakeAnthropic({ responder: model, record: false });
  const toolTurnAt = new Map<string, number>();
  const claimedAt = new Map<string, number>();
  const onRunStep = (step: RunStepName, info: RunStepInfo) => {
    if (step === 'tool_turn_stored') toolTurnAt.set(info.runId, performance.now());
    else if (step === 'claimed' && info.attempt === 1) claimedAt.set(info.runId, performance.now());
  };
  const client = new AgentPG({
    databaseUrl: db.url,
    anthropic: { apiKey: 'bench-key', baseURL: fake.url },
    agents: [
      defineAgent({
        name: 'bench_parent',
        model: 'claude-sonnet-5-5',
        systemPrompt: 'parent',
        agents: ['bench_child'],
      }),
      defineAgent({ name: 'bench_child', model: 'claude-sonnet-5-5', systemPrompt: 'child', maxTokens: 64 }),
    ],
    migrate: false,
    onRunStep,
    logger: createLogger({ level: 'warn' }),
  });
  const values: number[] = [];
  try {
    await client.start();
    const agent = client.agent('bench_parent');
    ctx.log(`child_run_start: ${samples} parent runs, one child each, one after the other`);
    for (let i = 0; i < samples + warmup; i++) {
      const sessionId = await agent.newSession({ tenantId: 'bench', identifier: `parent-${i}` });
      const { run } = await agent.run(sessionId, 'Ask the child.');
      const [child] = await client.runs.children(run.id);
      const from = toolTurnAt.get(run.id);
      const to = child ? claimedAt.get(child.id) : undefined;
      if (i >= warmup && from !== undefined && to !== undefined) values.push(to - from);
    }
  } finally {
    await client.stop().catch(() => {});
    await fake.close().catch(() => {});
  }
  const s = summarize(values);
  return {
    value: { p50: round(s.p50), p99: round(s.p99), samples: values.length },
    details: { child_run_start: s },
  };
}
