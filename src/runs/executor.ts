import type Anthropic from '@anthropic-ai/sdk';
import type { JobAttempt } from 'pg-boss';
import { withTransaction } from '../db/connection.js';
import type { AgentDefinition } from '../model/agent.js';
import type { Runtime } from '../runtime.js';
import { RunTrace } from '../tracing/runTrace.js';
import { approvalTimeouts, deniedOutput, RunSuspended, suspendForApproval } from './approvalGate.js';
import { splitAgentCalls, startChildRuns, suspendForChildren, waitsOf } from './childRuns.js';
import type { RunFinalizer } from './finalizer.js';
import { compactIfOverBudget, type CompactionContext } from './compaction.js';
import { classifyRunError } from './failures.js';
import { callModel, type ModelCallOptions } from './modelCall.js';
import { RateLimitDeferral } from '../ratelimit/limiter.js';
import { deferForRateLimit } from './rateLimitWait.js';
import { checkBudgets } from '../costs/budgets.js';
import { batchModelCall } from '../batch/runCall.js';
import { countRequests } from '../batch/sql/countRequests.js';
import { withCost } from '../costs/callCost.js';
import { cacheSettingsOf, withCacheBreakpoints } from './promptCache.js';
import { MAX_RUN_ATTEMPTS } from './queue.js';
import { advanceRun } from './sql/advanceRun.js';
import type { FinalState } from './sql/finalizeRuns.js';
import { insertMessages, ZERO_USAGE, type NewMessage, type TokenUsage } from './sql/insertMessages.js';
import { notifyStream } from './sql/notifyStream.js';
import type { StoredMessage } from './types.js';
import {
  finishDeniedToolCalls,
  finishToolCall,
  insertToolCalls,
  listToolCallsOfRuns,
  startToolCalls,
  type ToolCallRow,
} from './sql/toolCalls.js';
import { emitRunStep } from './steps.js';
import type { RunStepName } from './stepTypes.js';
import { storableText, storableValue } from './storable.js';
import { StreamBuffer } from './streamBuffer.js';
import { executeTool } from './toolExec.js';
import { toolParamsOf } from './toolParams.js';
import { storeQuestion, waitsForPerson } from './inputRequests.js';
import {
  closingMessages,
  rebuildTranscript,
  textOf,
  toolResultBlock,
  toolUsesOf,
  toParamBlock,
  type ParamMessage,
} from './transcript.js';
import type { Run } from './types.js';

export type AbortReason = 'cancel' | 'shutdown' | 'claim_lost';

/** Why an execution stopped early; the AbortController's reason. */
export class ExecutionAborted extends Error {
  constructor(readonly reason: AbortReason) {
    super(`run execution aborted: ${reason}`);
  }
}

/** A fenced write matched no row: the run is no longer `running` under this execution's claim. */
class ClaimGone extends Error {}

/** `suspended`: the run waits in `awaiting_input`, its job set aside (approvalGate.ts). */
export type ExecutionOutcome = 'finished' | 'handback' | 'lost' | 'suspended';

type Block = Record<string, any>;

interface OpenCalls {
  messageId: string;
  uses: Array<{ id: string; name: string; input: unknown }>;
  rows: ToolCallRow[];
  /** Results known so far, by tool_use id (stored rows, or executed in this process). */
  results: Map<string, { output: string; isError: boolean }>;
}

/**
 * Executes one claimed run: the durable tool loop. Each step ends in a commit that says what is
 * durable from then on (the list, and the statement behind each: src/runs/steps.ts), so whichever
 * instance picks the run up after a crash continues from the last commit: it rebuilds the
 * conversation from agentpg_messages + agentpg_tool_calls, never re-runs a tool call whose result
 * is stored, re-runs one left `running` with the same idempotency key (the tool_use id) and a
 * higher ctx.attempt. config.onRunStep is called after each of those commits.
 */
export class RunExecution {
  readonly controller = new AbortController();
  private readonly attempt: number;
  private readonly stream: StreamBuffer;
  /** This execution's spans (src/tracing/): the execution, its model calls and tool calls. */
  private readonly trace: RunTrace;
  private transcript: ParamMessage[] = [];
  private toolIterations: number;
  private open: OpenCalls | null = null;
  /** tool_result blocks of the last turn not stored as a message yet (stored with the next step). */
  private pendingResults: Block[] | null = null;
  /** [batch] The run's model calls go through the Message Batches API (src/batch/). */
  private readonly batchMode: boolean;

  /**
   * `history` is the session's stored messages and this run's tool calls, read inside the fetch
   * transaction that claimed the run (no extra statement per run).
   */
  constructor(
    private readonly rt: Runtime,
    readonly run: Run,
    private readonly history: { messages: StoredMessage[]; toolCalls: ToolCallRow[] },
    private readonly finalizer: RunFinalizer,
    private readonly job: JobAttempt,
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
      if (this.open) await this.runTools(agent);
      this.throwIfAborted();
      const compacted = await compactIfOverBudget(rt, this.compactionContext(agent));
      if (compacted === 'claim_lost') throw this.refused();
      if (compacted) {
        this.transcript = compacted.transcript;
        await this.step('compacted');
      }
      const message = await this.callModel(agent);
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
        await this.storeToolTurn(agent, message, usage, uses);
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

  private async callModel(agent: AgentDefinition): Promise<Anthropic.Message> {
    const tools = toolParamsOf(this.rt, agent);
    const params = withCacheBreakpoints(
      {
        model: agent.model,
        max_tokens: agent.maxTokens ?? 4096,
        messages: this.transcript,
        ...(agent.systemPrompt ? { system: agent.systemPrompt } : {}),
        ...(agent.temperature !== undefined ? { temperature: agent.temperature } : {}),
        ...(tools.length > 0 ? { tools } : {}),
      },
      cacheSettingsOf(agent),
    );
    await checkBudgets(this.rt, this.run, params, agent.budget); // [costs] before the call, not after
    if (this.batchMode) return this.callModelInBatch(params);
    this.stream.start();
    const limiter = this.rt.rateLimiter;
    // [ratelimit] Cluster-wide capacity before each attempt, what the API said after it.
    const rateLimit: ModelCallOptions['rateLimit'] = limiter
      ? {
          acquire: () => limiter.acquire(params, this.run.tenantId, this.signal),
          observe: (permit, headers, status) => limiter.observe(permit, headers, status),
          settle: (permit, usage) => limiter.settle(permit, usage),
        }
      : undefined;
    try {
      // Made storable (storable.ts) as it arrives: this message is stored, streamed and sent back.
      const message = await this.trace.modelCall(callModel)(this.rt.anthropic, params, {
        signal: this.signal,
        onText: (d) => this.stream.pushText(storableText(d)),
        onRetry: (info) => {
          this.stream.discardText();
          this.rt.logger.info({ runId: this.run.id, ...info }, 'model call retry');
        },
        secrets: this.rt.secrets,
        rateLimit,
      });
      return storableValue(message);
    } catch (err) {
      if (err instanceof RateLimitDeferral) await this.deferForCapacity(err.waitMs);
      throw err;
    } finally {
      this.stream.stop();
    }
  }

  /**
   * [batch] The model call through the Message Batches API (src/batch/runCall.ts): the stored
   * result, or the run suspends (step `batch_requested`) until the poll pass stored it.
   */
  private async callModelInBatch(params: Anthropic.MessageCreateParamsNonStreaming): Promise<Anthropic.Message> {
    const res = await batchModelCall(
      this.rt,
      { id: this.run.id, attempt: this.attempt },
      this.job,
      this.toolIterations,
      params,
    );
    if (res.kind === 'gone') throw this.refused();
    if (res.kind === 'cancel') throw new ExecutionAborted('cancel');
    if (res.kind === 'suspended') {
      await this.step('batch_requested', { customId: res.customId });
      throw new RunSuspended();
    }
    // The call's span, from its request to its stored result ([tracing]).
    this.trace.batchedModelCall(params, res.request, res.kind === 'failed' ? res.error : res.message);
    if (res.kind === 'failed') throw res.error;
    // Not streamed: its text goes to runs.stream in one delta, stored with the next step.
    this.stream.start();
    const text = textOf(res.message.content);
    if (text) this.stream.pushText(text);
    this.stream.stop();
    return storableValue(res.message);
  }

  /**
   * ONE transaction makes the tool_use turn durable before any tool runs: the previous turn's
   * tool_result message (if any), the assistant message, a `pending` agentpg_tool_calls row per
   * tool_use block, the run's tokens and tool_iterations (fenced), and the stream events. COMMIT:
   * step `tool_turn_stored`. A crash before it loses only the model call (made again on resume; its
   * tokens were never counted).
   */
  private async storeToolTurn(
    agent: AgentDefinition,
    message: Anthropic.Message,
    usage: TokenUsage,
    uses: OpenCalls['uses'],
  ): Promise<void> {
    const { run } = this;
    let cancelRequested = false;
    // Decided before the transaction (a needsApproval function may be slow); stored with the rows.
    const approvals = await approvalTimeouts(
      uses.map((u) => this.toolOf(agent, u.name)),
      uses,
      {
        runId: run.id,
        sessionId: run.sessionId,
        tenantId: run.tenantId,
        agentName: run.agentName,
        idempotencyKey: '',
        context: run.context,
      },
    );
    const { messageId, rows } = await withTransaction(this.rt.pool, async (tx) => {
      const payloads = await this.stream.drain();
      for (const u of uses)
        payloads.push(this.stream.payloadFor({ type: 'tool_call', toolUseId: u.id, name: u.name, input: u.input }));
      await notifyStream(tx, payloads);
      const pending: NewMessage[] = this.pendingResults ? [{ role: 'user', content: this.pendingResults }] : [];
      const messages = [...pending, assistantMessage(message, usage)];
      const ids = await insertMessages(tx, [{ sessionId: run.sessionId, runId: run.id, messages }]);
      const messageId = ids[ids.length - 1];
      const rows = await insertToolCalls(
        tx,
        run.id,
        messageId,
        uses.map((u, i) => ({ ...u, approvalTimeoutMs: approvals[i] })),
      );
      const adv = await advanceRun(tx, run.id, this.attempt, usage, true);
      if (!adv) throw this.refused();
      cancelRequested = adv.cancelRequestedAt !== null;
      return { messageId, rows };
    });
    this.pendingResults = null;
    this.toolIterations++;
    this.transcript.push({
      role: 'assistant',
      content: (message.content as Block[]).map(toParamBlock) as Anthropic.ContentBlockParam[],
    });
    this.open = { messageId, uses, rows, results: new Map() };
    await this.step('tool_turn_stored');
    if (cancelRequested) throw new ExecutionAborted('cancel');
  }

  /**
   * Runs the open turn's tool calls that have no stored result, concurrently. Durable steps:
   * startToolCalls (all of them → `running`, attempts + 1: one autocommit UPDATE, `tools_started`),
   * then finishToolCall per call (its result: one autocommit UPDATE each, `tool_result_stored`).
   * A call whose result is stored is never executed again. The tool_result message itself is
   * stored by the next step's transaction.
   */
  private async runTools(agent: AgentDefinition): Promise<void> {
    const open = this.open!;
    if (open.rows.some(waitsForPerson)) await this.awaitApprovals(open);
    await this.answerDenied(open);
    const byUse = new Map(open.rows.map((r) => [r.toolUseId, r]));
    const [childCalls, todo] = splitAgentCalls(
      agent,
      open.uses.filter((u) => !open.results.has(u.id) && byUse.has(u.id)).map((u) => byUse.get(u.id)!),
    );
    // Calls of agents start child runs first, so they run elsewhere while the tools run here.
    if (childCalls.some((c) => c.state === 'pending')) await this.startChildren(childCalls, open);
    for (const u of open.uses) {
      // A tool_use without a row cannot happen (same transaction); answer it rather than hang.
      if (!byUse.has(u.id)) open.results.set(u.id, { output: 'tool call record missing', isError: true });
    }
    if (todo.length > 0) {
      const started = await startToolCalls(
        this.rt.pool,
        this.run.id,
        this.attempt,
        todo.map((r) => r.id),
      );
      if (!started) throw this.refused();
      if (started.cancelRequestedAt) throw new ExecutionAborted('cancel');
      if (todo.some((row) => !started.attempts.has(row.id))) {
        // Not started because its result got stored after our claim read the rows: the previous
        // execution was not dead after all (its job heartbeat lapsed) and finished the call. Use
        // that result; executing the call again would be a needless second side effect.
        const stored = resultsOf((await listToolCallsOfRuns(this.rt.pool, [this.run.id])).get(this.run.id) ?? []);
        for (const row of todo) {
          if (started.attempts.has(row.id)) continue;
          const r = stored.get(row.toolUseId);
          if (!r) throw new Error(`tool call ${row.id} was neither started nor finished`);
          open.results.set(row.toolUseId, r);
        }
      }
      if (started.attempts.size > 0) await this.step('tools_started');
      const allowed = new Set(agent.tools ?? []);
      let asked = false;
      const settled = await Promise.allSettled(
        todo.map(async (row) => {
          const attempt = started.attempts.get(row.id);
          if (attempt === undefined) return; // finished by the earlier execution (above)
          const tool = allowed.has(row.toolName) ? this.rt.registry.tools.get(row.toolName) : undefined;
          const outcome = await this.trace.toolCall(executeTool)(
            tool,
            row.toolName,
            // Approved with an edited input: the person's input, not the model's.
            row.approval === 'approved' && row.approvedInput !== null ? row.approvedInput : row.input,
            {
              runId: this.run.id,
              sessionId: this.run.sessionId,
              tenantId: this.run.tenantId,
              agentName: this.run.agentName,
              idempotencyKey: row.toolUseId,
              attempt,
              signal: this.signal,
              context: this.run.context,
            },
            this.rt.config.toolTimeoutMs,
            this.rt.secrets,
          );
          if (outcome.inputRequest) {
            // The tool asked the user a question (inputRequests.ts): durable at storeQuestion's commit.
            if (!(await storeQuestion(this.rt, this.stream, row, attempt, outcome.inputRequest))) {
              this.abort('claim_lost');
              throw this.refused();
            }
            asked = true;
            await this.step('input_requested', { toolUseId: row.toolUseId });
            return;
          }
          const payload = this.stream.payloadFor({
            type: 'tool_result',
            toolUseId: row.toolUseId,
            name: row.toolName,
            isError: outcome.isError,
            output: outcome.output,
          });
          // Durable here: from this commit on, the call is never executed again.
          const stored = await finishToolCall(this.rt.pool, { id: row.id, attempt, ...outcome }, payload);
          if (!stored) {
            // A newer execution took the call over: stop the other tools of this one too.
            this.abort('claim_lost');
            throw this.refused();
          }
          open.results.set(row.toolUseId, { output: outcome.output, isError: outcome.isError });
          await this.step('tool_result_stored', { toolUseId: row.toolUseId });
        }),
      );
      // Every call settles (each is bounded by its timeout) before the execution gives the run up:
      // a run handed back while one of its tools still ran here could see that tool started again
      // elsewhere, concurrently with itself.
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (asked) await this.awaitApprovals(open);
    }
    if (childCalls.some((c) => !open.results.has(c.toolUseId))) await this.awaitChildren(open);
    const blocks = open.uses.map((u) => {
      const r = open.results.get(u.id)!;
      return toolResultBlock(u.id, r.output, r.isError);
    });
    this.pendingResults = blocks;
    this.transcript.push({ role: 'user', content: blocks as Anthropic.ContentBlockParam[] });
    this.open = null;
  }

  /**
   * Calls of the open turn wait for a person's decision or answer: suspend the run (approvalGate.ts), or,
   * when every decision came in meanwhile, re-read the calls and go on.
   */
  private async awaitApprovals(open: OpenCalls): Promise<void> {
    const res = await suspendForApproval(
      this.rt,
      { id: this.run.id, attempt: this.attempt },
      this.job,
      open.rows,
      this.stream,
    );
    if (res === 'gone') throw this.refused();
    if (res === 'cancel') throw new ExecutionAborted('cancel');
    if (typeof res === 'object') {
      this.wakeWorkerAt(res.dueAt);
      await this.step('awaiting_input');
      throw new RunSuspended();
    }
    const rows = (await listToolCallsOfRuns(this.rt.pool, [this.run.id])).get(this.run.id) ?? [];
    open.rows = rows.filter((r) => r.messageId === open.messageId);
    // Answers (and timed-out questions) are stored results like any other.
    for (const [id, r] of resultsOf(open.rows)) open.results.set(id, r);
  }

  /**
   * [ratelimit] The model call must wait for capacity longer than a slot should be held: the run's
   * job goes back to `retry`, due in `waitMs` (rateLimitWait.ts: step `rate_limit_deferred`), and
   * this execution ends like a suspended one.
   */
  private async deferForCapacity(waitMs: number): Promise<never> {
    const res = await deferForRateLimit(this.rt, { id: this.run.id, attempt: this.attempt }, this.job, waitMs);
    if (res === 'gone') throw this.refused();
    if (res === 'cancel') throw new ExecutionAborted('cancel');
    this.wakeWorkerAt(res.dueAt);
    await this.step('rate_limit_deferred');
    throw new RunSuspended();
  }

  /**
   * The run's job comes due at `at` with no notification (a deadline, capacity expected): this
   * instance's worker fetches then, rather than at its next backstop poll.
   */
  private wakeWorkerAt(at: Date): void {
    this.rt.runs.localWorker?.wakeAt(at, this.run.agentName);
  }

  /** Agent calls of the open turn start their child runs (childRuns.ts): step `children_started`. */
  private async startChildren(calls: ToolCallRow[], open: OpenCalls): Promise<void> {
    const res = await startChildRuns(this.rt, this.run, this.attempt, calls, this.stream);
    if (res === 'gone') throw this.refused();
    if (res === 'cancel') throw new ExecutionAborted('cancel');
    for (const [toolUseId, output] of res.refused) open.results.set(toolUseId, { output, isError: true });
    await this.step('children_started');
  }

  /** Children of the open turn still run: suspend until the last one ends (childRuns.ts), or go on. */
  private async awaitChildren(open: OpenCalls): Promise<void> {
    const res = await suspendForChildren(this.rt, { id: this.run.id, attempt: this.attempt }, this.job);
    if (res === 'gone') throw this.refused();
    if (res === 'cancel') throw new ExecutionAborted('cancel');
    if (res === 'suspended') {
      await this.step('awaiting_input');
      throw new RunSuspended();
    }
    const rows = (await listToolCallsOfRuns(this.rt.pool, [this.run.id])).get(this.run.id) ?? [];
    for (const [id, r] of resultsOf(rows.filter((c) => c.messageId === open.messageId))) open.results.set(id, r);
  }

  /** Denied calls (by a person, or timed out) get their is_error result, durably, without running. */
  private async answerDenied(open: OpenCalls): Promise<void> {
    const denied = open.rows.filter((r) => r.approval === 'denied' && !open.results.has(r.toolUseId));
    if (denied.length === 0) return;
    const calls = denied.map((r) => ({ id: r.id, output: deniedOutput(r) }));
    if (!(await finishDeniedToolCalls(this.rt.pool, this.run.id, this.attempt, calls))) throw this.refused();
    for (const c of calls) {
      const row = denied.find((r) => r.id === c.id)!;
      open.results.set(row.toolUseId, { output: c.output, isError: true });
    }
  }

  private toolOf(agent: AgentDefinition, name: string) {
    return (agent.tools ?? []).includes(name) ? this.rt.registry.tools.get(name) : undefined;
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

  /** config.onRunStep, right after a durable step committed (awaited only when a hook is set). */
  private step(
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

  /** A fenced write matched no row: counted, and the error that ends this execution. */
  private refused(): ClaimGone {
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

function usageOf(m: Anthropic.Message): TokenUsage {
  const u = m.usage;
  return {
    inputTokens: u?.input_tokens ?? 0,
    outputTokens: u?.output_tokens ?? 0,
    cacheCreationInputTokens: u?.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: u?.cache_read_input_tokens ?? 0,
  };
}

function assistantMessage(m: Anthropic.Message, usage: TokenUsage): NewMessage {
  return { role: 'assistant', content: m.content, stopReason: m.stop_reason ?? null, usage };
}

function resultsOf(rows: ToolCallRow[]): OpenCalls['results'] {
  const out: OpenCalls['results'] = new Map();
  for (const r of rows)
    if (r.state === 'succeeded' || r.state === 'failed')
      out.set(r.toolUseId, { output: r.output ?? '', isError: r.isError });
  return out;
}
