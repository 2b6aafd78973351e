import type { JobAttempt } from 'pg-boss';
import type { AgentDefinition } from '../model/agent.js';
import type { Runtime } from '../runtime.js';
import { RunTrace } from '../tracing/runTrace.js';
import { RunSuspended } from './approvalGate.js';
import { waitsOf } from './childRuns.js';
import type { RunFinalizer } from './finalizer.js';
import { compactIfOverBudget, type CompactionContext } from './compaction.js';
import { classifyRunError } from './failures.js';
import { countRequests } from '../batch/sql/countRequests.js';
import { withCost } from '../costs/callCost.js';
import {
  ClaimGone,
  ExecutionAborted,
  resultsOf,
  type AbortReason,
  type Block,
  type ExecutionOutcome,
  type ExecutionState,
  type OpenCalls,
} from './executionState.js';
import { assistantMessage, modelTurn, storeToolTurn, usageOf } from './modelTurn.js';
import { MAX_RUN_ATTEMPTS } from './queue.js';
import type { FinalState } from './sql/finalizeRuns.js';
import { ZERO_USAGE, type NewMessage, type TokenUsage } from './sql/insertMessages.js';
import type { StoredMessage } from './types.js';
import type { ToolCallRow } from './sql/toolCalls.js';
import { emitRunStep } from './steps.js';
import type { RunStepName } from './stepTypes.js';
import { StreamBuffer } from './streamBuffer.js';
import { runTools } from './toolTurn.js';
import { closingMessages, rebuildTranscript, textOf, toolUsesOf, type ParamMessage } from './transcript.js';
import type { Run } from './types.js';

export { ExecutionAborted, type AbortReason, type ExecutionOutcome } from './executionState.js';

/** A run's picked-up conversation: the session's live messages and the run's tool calls. */
export interface PickedUpHistory {
  messages: StoredMessage[];
  toolCalls: ToolCallRow[];
}

/**
 * Executes one claimed run: the durable tool loop. Each step ends in a commit that says what is
 * durable from then on (the list, and the statement behind each: src/runs/steps.ts), so whichever
 * instance picks the run up after a crash continues from the last commit: it rebuilds the
 * conversation from agentpg_messages + agentpg_tool_calls, never re-runs a tool call whose result
 * is stored, re-runs one left `running` with the same idempotency key (the tool_use id) and a
 * higher ctx.attempt. config.onRunStep is called after each of those commits.
 */
export class RunExecution implements ExecutionState {
  readonly controller = new AbortController();
  readonly attempt: number;
  readonly stream: StreamBuffer;
  readonly trace: RunTrace;
  transcript: ParamMessage[] = [];
  toolIterations: number;
  open: OpenCalls | null = null;
  pendingResults: Block[] | null = null;
  readonly batchMode: boolean;

  /** What loop() read of `pickUp` (set before anything uses it). */
  private history: PickedUpHistory = { messages: [], toolCalls: [] };

  /**
   * `pickUp` is the session's stored messages and this run's tool calls, read by the worker for the
   * whole fetched batch in one statement right after the claim's COMMIT (worker.ts), so the run is
   * `running` one statement sooner; nothing else writes a session's messages while its run runs.
   */
  constructor(
    readonly rt: Runtime,
    readonly run: Run,
    private readonly pickUp: Promise<PickedUpHistory>,
    private readonly finalizer: RunFinalizer,
    readonly job: JobAttempt,
  ) {
    this.attempt = run.attempts;
    this.toolIterations = run.toolIterations;
    this.stream = new StreamBuffer(run.id, rt.pool, 50, (err) => rt.reportError(err, 'run stream flush'));
    this.trace = new RunTrace(run, rt, rt.registry.agents.get(run.agentName)?.model);
    this.batchMode = run.batchMode ?? rt.registry.agents.get(run.agentName)?.batch ?? false;
  }

  /**
   * Fenced writes of this execution that matched no row (each throws ClaimGone and ends it): the
   * late writes of a worker whose run or call a newer execution had taken over. The worker sums
   * them into health().runWritesRefused.
   */
  writesRefused = 0;

  abort(reason: AbortReason): void {
    if (!this.controller.signal.aborted) this.controller.abort(new ExecutionAborted(reason));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  execute(): Promise<ExecutionOutcome> {
    return this.trace.execution(() => this.executeTraced());
  }

  private async executeTraced(): Promise<ExecutionOutcome> {
    try {
      // The claim was made durable by the fetch transaction's COMMIT (worker.ts), just before this.
      await this.step('claimed');
      await this.loop();
      return 'finished';
    } catch (err) {
      return await this.onError(err);
    } finally {
      this.stream.stop();
    }
  }

  private async loop(): Promise<void> {
    const { run, rt } = this;
    // Rebuilt first, so that even a run ended right away (cancelled, too many attempts) answers the
    // tool calls of a turn it was resumed in: the stored transcript stays valid for the API.
    this.history = await this.pickUp;
    const calls = this.history.toolCalls;
    const rebuilt = rebuildTranscript(this.history.messages, run.id, calls);
    this.transcript = rebuilt.messages;
    if (rebuilt.openTurn) {
      const rows = calls.filter((c) => c.messageId === rebuilt.openTurn!.messageId);
      this.open = {
        messageId: rebuilt.openTurn.messageId,
        uses: rebuilt.openTurn.toolUses,
        rows,
        results: resultsOf(rows),
      };
    }
    if (run.cancelRequestedAt) throw new ExecutionAborted('cancel');
    // Every wait (for approval, an answer, child runs, a batch result, rate-limit capacity) ends in
    // one more claim of the run: not crashes.
    const waits =
      waitsOf(rt.registry.agents.get(run.agentName), calls) +
      run.rateLimitDeferrals + // [ratelimit]
      (this.batchMode ? await countRequests(rt.pool, run.id) : 0); // [batch]
    if (this.attempt - waits > MAX_RUN_ATTEMPTS) {
      await this.finalize('failed', [], ZERO_USAGE, {
        errorType: 'max_attempts_exceeded',
        errorMessage: `the run was picked up ${this.attempt} times (its workers kept dying); giving up after ${MAX_RUN_ATTEMPTS}`,
      });
      return;
    }
    const agent = rt.registry.agent(run.agentName);

    for (;;) {
      if (this.open) await runTools(this, agent);
      this.throwIfAborted();
      const compacted = await compactIfOverBudget(rt, this.compactionContext(agent));
      if (compacted === 'claim_lost') throw this.refused();
      if (compacted) {
        this.transcript = compacted.transcript;
        await this.step('compacted');
      }
      const message = await modelTurn(this, agent);
      const usage = withCost(usageOf(message), agent.model, rt.config.prices, this.batchMode); // [costs] [batch]
      const uses = toolUsesOf(message.content);

      if (message.stop_reason === 'tool_use' && uses.length > 0) {
        if (this.toolIterations + 1 > rt.config.maxToolIterations) {
          await this.finalize('failed', [assistantMessage(message, usage)], usage, {
            errorType: 'max_tool_iterations_exceeded',
            errorMessage: `the model asked for tools again after ${this.toolIterations} tool iterations (maxToolIterations is ${rt.config.maxToolIterations})`,
            closeWith: 'not executed: the run reached maxToolIterations',
            trailingUses: uses,
          });
          return;
        }
        await storeToolTurn(this, agent, message, usage, uses);
        continue;
      }
      // Final turn. A max_tokens (or other) stop is recorded as the run's stop_reason, not hidden.
      await this.finalize('completed', [assistantMessage(message, usage)], usage, {
        responseText: textOf(message.content),
        stopReason: message.stop_reason ?? null,
        // A response cut off inside a tool_use block still needs an answer in the transcript.
        closeWith:
          uses.length > 0
            ? `not executed: the response stopped (${message.stop_reason}) before the tool call was complete`
            : undefined,
        trailingUses: uses,
      });
      return;
    }
  }

  /** What compaction.ts needs before a model call (it decides whether to compact). */
  private compactionContext(agent: AgentDefinition): CompactionContext {
    const { run, attempt, transcript, pendingResults, signal, stream } = this;
    return { run, attempt, agent, transcript, pendingResults, toolCalls: this.history.toolCalls, signal, stream };
  }

  /**
   * Ends the run: remaining stream events, the last messages (pending tool results, the final
   * assistant message, results for tool calls that will never run), open tool calls closed, the
   * guarded running → final UPDATE and the pg-boss job deleted, in ONE transaction shared with
   * the runs that finish at the same moment on this worker (finalizer.ts: group commit). Durable at
   * that transaction's COMMIT, all or nothing, which finalize() waits for: step `finalized`.
   */
  private async finalize(
    state: FinalState,
    messages: NewMessage[],
    usage: TokenUsage,
    f: {
      responseText?: string | null;
      stopReason?: string | null;
      errorType?: string | null;
      errorMessage?: string | null;
      closeWith?: string;
      trailingUses?: OpenCalls['uses'];
    },
  ): Promise<Run> {
    const reason =
      f.closeWith ?? (state === 'cancelled' ? 'not executed: the run was cancelled' : `not executed: the run ${state}`);
    const final = await this.finalizer.finalize({
      runId: this.run.id,
      sessionId: this.run.sessionId,
      parentRunId: this.run.parentRunId,
      attempt: this.attempt,
      job: this.job,
      state,
      usage,
      responseText: f.responseText,
      stopReason: f.stopReason,
      errorType: f.errorType,
      errorMessage: f.errorMessage,
      messages: closingMessages({
        pendingResults: this.pendingResults,
        open: this.open,
        final: messages,
        reason,
        closeWith: f.closeWith,
        trailingUses: f.trailingUses,
      }),
      closeToolCallsWith: state === 'completed' ? null : reason,
      streamPayloads: await this.stream.drain(),
    });
    if (!final) throw this.refused();
    this.trace.finalized(state, f);
    this.pendingResults = null;
    this.open = null;
    await this.step('finalized', { state });
    return final;
  }

  step(
    step: RunStepName,
    extra?: { toolUseId?: string; state?: FinalState; customId?: string },
  ): Promise<void> | undefined {
    return emitRunStep(this.rt, step, {
      runId: this.run.id,
      attempt: this.attempt,
      iteration: this.toolIterations,
      ...extra,
    });
  }

  refused(): ClaimGone {
    this.writesRefused++;
    return new ClaimGone();
  }

  private throwIfAborted(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  private async onError(err: unknown): Promise<ExecutionOutcome> {
    const aborted =
      err instanceof ExecutionAborted
        ? err
        : this.signal.reason instanceof ExecutionAborted
          ? this.signal.reason
          : null;
    if (err instanceof RunSuspended) return 'suspended';
    if (!aborted) this.trace.error(err);
    try {
      // A refused write first: whatever stopped us, a newer execution owns the run (handing its
      // job back would be refused too).
      if (err instanceof ClaimGone) return 'lost';
      if (aborted?.reason === 'shutdown') return 'handback';
      if (aborted?.reason === 'claim_lost') return 'lost';
      if (aborted?.reason === 'cancel') {
        await this.finalize('cancelled', [], ZERO_USAGE, {});
        return 'finished';
      }
      const failure = classifyRunError(err, this.rt.secrets);
      if (failure.permanent) {
        // Once: another attempt would fail the same way, after paying for the model call again.
        this.rt.logger.warn({ runId: this.run.id, errorType: failure.errorType }, 'run failed permanently');
        await this.finalize('failed', [], ZERO_USAGE, {
          errorType: failure.errorType,
          errorMessage: failure.errorMessage,
        });
        return 'finished';
      }
    } catch (inner) {
      if (inner instanceof ClaimGone) return 'lost';
      this.rt.reportError(inner, `run ${this.run.id}`);
      return 'handback';
    }
    // Anything else (the database went away, a deadlock, a bug): hand the job back; the run stays `running`
    // and is resumed from its last commit, by this instance or another (bounded by MAX_RUN_ATTEMPTS).
    this.rt.reportError(err, `run ${this.run.id}`);
    return 'handback';
  }
}
