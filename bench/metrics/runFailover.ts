/**
 * failover_runs_sigkill_ms: an instance process executing a run (its model call in flight) is
 * SIGKILLed; the time is from just before the kill to the run's next claim (`claimed`, attempt 2)
 * on a survivor in this process (both wall clock, one machine). Each trial: a fresh instance
 * process (the victim) enqueues one run and claims it; the survivor starts once the victim's model
 * call is in flight (so it never takes the run first); kill; wait for the claim; the run completes.
 * The cleanup pass and its heartbeat TTL are pushed out to 10 min in both, so only what is
 * measured can hand the run back.
 *
 * Baseline, in the same run and measured the same way: the survivor with instant failover off
 * (runFailoverIntervalMs 0), i.e. the hand-back by pg-boss's job heartbeat expiry agentpg relied on
 * before (HEARTBEAT_SECONDS, checked at each supervise pass). Fewer trials: each waits ~10-15 s.
 */
import { AgentPG, type RunStepInfo, type RunStepName } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic, type FakeReply, type FakeRequest } from '../../src/testing/index.js';
import { wallClock } from '../lib/child.js';
import { InstanceCluster } from '../lib/cluster.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import { waitUntil, type BenchDatabase } from '../lib/database.js';
import { max, percentile, round } from '../lib/stats.js';

export interface RunFailoverValue {
  p50: number | null;
  max: number | null;
  trials: number;
  /** The job-expiry hand-back (instant failover off), same measure. */
  baseline_p50: number | null;
  baseline_trials: number;
}

const FAR = 10 * 60_000;

/** The run's prompt: the first message's text (a string, or text blocks). */
function promptOf(req: FakeRequest): string {
  const content = req.body.messages[0]?.content ?? '';
  if (typeof content === 'string') return content;
  return (content as Array<{ type: string; text?: string }>).map((b) => b.text ?? '').join('');
}

export async function measureRunFailover(
  ctx: BenchContext,
  db: BenchDatabase,
): Promise<MetricResult<RunFailoverValue>> {
  const trials = ctx.quick ? 5 : 20;
  const baselineTrials = ctx.quick ? 1 : 3;
  // The first model call of each prompt hangs (the victim is killed in it); the next answers.
  const seen = new Set<string>();
  const model = (req: FakeRequest): FakeReply => {
    const prompt = promptOf(req);
    if (seen.has(prompt)) return { text: 'ok' };
    seen.add(prompt);
    return { text: 'never sent', latencyMs: 120_000 };
  };
  const fake = await startFakeAnthropic({ responder: model, record: false });
  const cluster = new InstanceCluster('run-failover', () => ({
    databaseUrl: db.url,
    modelUrl: fake.url,
    agents: true,
    cluster: { instanceTtlMs: FAR, cleanupIntervalMs: FAR },
  }));

  const trial = async (i: number, instant: boolean): Promise<number> => {
    const [victim] = await cluster.spawn(1);
    const prompt = `failover trial ${instant ? 'instant' : 'baseline'} ${i}`;
    const { runId } = (await victim.request({ type: 'enqueueOne', agent: 'bench', prompt })) as unknown as {
      runId: string;
    };
    await waitUntil(async () => seen.has(prompt), 30_000, 'the victim in its model call', 10);
    let resumed: (t: number) => void = () => {};
    const resumedAt = new Promise<number>((r) => (resumed = r));
    const survivor = new AgentPG({
      databaseUrl: db.url,
      anthropic: { apiKey: 'bench-key', baseURL: fake.url },
      agents: [{ name: 'bench', model: 'claude-bench', maxTokens: 64 }],
      migrate: false,
      instanceTtlMs: FAR,
      cleanupIntervalMs: FAR,
      ...(instant ? {} : { runFailoverIntervalMs: 0 }),
      onRunStep: (step: RunStepName, info: RunStepInfo) => {
        if (step === 'claimed' && info.runId === runId && info.attempt >= 2) resumed(wallClock());
      },
      logger: createLogger({ level: 'error' }),
    });
    try {
      await survivor.start();
      const killedAt = wallClock();
      cluster.kill(victim.label, killedAt);
      const t = await Promise.race([
        resumedAt,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`run ${runId} not resumed within 60 s of the kill`)), 60_000).unref(),
        ),
      ]);
      await survivor.runs.wait(runId, { timeoutMs: 30_000 });
      return t - killedAt;
    } finally {
      await survivor.stop().catch(() => {});
    }
  };

  const instant: number[] = [];
  const baseline: number[] = [];
  try {
    ctx.log(`failover_runs_sigkill: ${trials} trials with instant failover, ${baselineTrials} without`);
    for (let i = 0; i < trials; i++) instant.push(await trial(i, true));
    for (let i = 0; i < baselineTrials; i++) baseline.push(await trial(i, false));
  } finally {
    await cluster.stopAll().catch(() => {});
    await fake.close().catch(() => {});
  }
  return {
    value: {
      p50: round(percentile(instant, 50)),
      max: round(max(instant)),
      trials: instant.length,
      baseline_p50: round(percentile(baseline, 50)),
      baseline_trials: baseline.length,
    },
    details: { failover_runs_sigkill_ms: instant.map(round), baseline_job_expiry_ms: baseline.map(round) },
  };
}
