import type Anthropic from '@anthropic-ai/sdk';
import { withTransaction } from '../db/connection.js';
import type { AgentDefinition } from '../model/agent.js';
import { RateLimitDeferral } from '../ratelimit/limiter.js';
import { checkBudgets } from '../costs/budgets.js';
import { batchModelCall } from '../batch/runCall.js';
import { approvalTimeouts, RunSuspended } from './approvalGate.js';
import { ExecutionAborted, type ExecutionState, type OpenCalls } from './executionState.js';
import { callModel, type ModelCallOptions } from './modelCall.js';
import { cacheSettingsOf, withCacheBreakpoints } from './promptCache.js';
import { deferForCapacity } from './runSuspension.js';
import { advanceRun } from './sql/advanceRun.js';
import { insertMessages, type NewMessage, type TokenUsage } from './sql/insertMessages.js';
import { notifyStream } from './sql/notifyStream.js';
import { insertToolCalls } from './sql/toolCalls.js';
import { storableText, storableValue } from './storable.js';
import { toolParamsOf } from './toolParams.js';
import { textOf, toParamBlock } from './transcript.js';
import type { Block } from './executionState.js';

// The model's turn of an execution (executor.ts loop): the model call (streamed, or through the
// Message Batches API), and a tool_use answer made durable before any tool runs.

/** One model call of the execution, on its transcript: the agent's request, its budget checked first. */
export async function modelTurn(x: ExecutionState, agent: AgentDefinition): Promise<Anthropic.Message> {
  const tools = toolParamsOf(x.rt, agent);
  const params = withCacheBreakpoints(
    {
      model: agent.model,
      max_tokens: agent.maxTokens ?? 4096,
      messages: x.transcript,
      ...(agent.systemPrompt ? { system: agent.systemPrompt } : {}),
      ...(agent.temperature !== undefined ? { temperature: agent.temperature } : {}),
      ...(tools.length > 0 ? { tools } : {}),
    },
    cacheSettingsOf(agent),
  );
  await checkBudgets(x.rt, x.run, params, agent.budget); // [costs] before the call, not after
  if (x.batchMode) return batchModelTurn(x, params);
  x.stream.start();
  const limiter = x.rt.rateLimiter;
  // [ratelimit] Cluster-wide capacity before each attempt, what the API said after it.
  const rateLimit: ModelCallOptions['rateLimit'] = limiter
    ? {
        acquire: () => limiter.acquire(params, x.run.tenantId, x.signal),
        observe: (permit, headers, status) => limiter.observe(permit, headers, status),
        settle: (permit, usage) => limiter.settle(permit, usage),
      }
    : undefined;
  try {
    // Made storable (storable.ts) as it arrives: this message is stored, streamed and sent back.
    const message = await x.trace.modelCall(callModel)(x.rt.anthropic, params, {
      signal: x.signal,
      onText: (d) => x.stream.pushText(storableText(d)),
      onRetry: (info) => {
        x.stream.discardText();
        x.rt.logger.info({ runId: x.run.id, ...info }, 'model call retry');
      },
      secrets: x.rt.secrets,
      rateLimit,
    });
    return storableValue(message);
  } catch (err) {
    if (err instanceof RateLimitDeferral) await deferForCapacity(x, err.waitMs);
    throw err;
  } finally {
    x.stream.stop();
  }
}

/**
 * [batch] The model call through the Message Batches API (src/batch/runCall.ts): the stored
 * result, or the run suspends (step `batch_requested`) until the poll pass stored it.
 */
async function batchModelTurn(
  x: ExecutionState,
  params: Anthropic.MessageCreateParamsNonStreaming,
): Promise<Anthropic.Message> {
  const res = await batchModelCall(x.rt, { id: x.run.id, attempt: x.attempt }, x.job, x.toolIterations, params);
  if (res.kind === 'gone') throw x.refused();
  if (res.kind === 'cancel') throw new ExecutionAborted('cancel');
  if (res.kind === 'suspended') {
    await x.step('batch_requested', { customId: res.customId });
    throw new RunSuspended();
  }
  // The call's span, from its request to its stored result ([tracing]).
  x.trace.batchedModelCall(params, res.request, res.kind === 'failed' ? res.error : res.message);
  if (res.kind === 'failed') throw res.error;
  // Not streamed: its text goes to runs.stream in one delta, stored with the next step.
  x.stream.start();
  const text = textOf(res.message.content);
  if (text) x.stream.pushText(text);
  x.stream.stop();
  return storableValue(res.message);
}

/**
 * ONE transaction makes the tool_use turn durable before any tool runs: the previous turn's
 * tool_result message (if any), the assistant message, a `pending` agentpg_tool_calls row per
 * tool_use block, the run's tokens and tool_iterations (fenced), and the stream events. COMMIT:
 * step `tool_turn_stored`. A crash before it loses only the model call (made again on resume; its
 * tokens were never counted).
 */
export async function storeToolTurn(
  x: ExecutionState,
  agent: AgentDefinition,
  message: Anthropic.Message,
  usage: TokenUsage,
  uses: OpenCalls['uses'],
): Promise<void> {
  const { run } = x;
  let cancelRequested = false;
  // Decided before the transaction (a needsApproval function may be slow); stored with the rows.
  const approvals = await approvalTimeouts(
    uses.map((u) => toolOf(x, agent, u.name)),
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
  const { messageId, rows } = await withTransaction(x.rt.pool, async (tx) => {
    const payloads = await x.stream.drain();
    for (const u of uses)
      payloads.push(x.stream.payloadFor({ type: 'tool_call', toolUseId: u.id, name: u.name, input: u.input }));
    await notifyStream(tx, payloads);
    const pending: NewMessage[] = x.pendingResults ? [{ role: 'user', content: x.pendingResults }] : [];
    const messages = [...pending, assistantMessage(message, usage)];
    const ids = await insertMessages(tx, [{ sessionId: run.sessionId, runId: run.id, messages }]);
    const messageId = ids[ids.length - 1];
    const rows = await insertToolCalls(
      tx,
      run.id,
      messageId,
      uses.map((u, i) => ({ ...u, approvalTimeoutMs: approvals[i] })),
    );
    const adv = await advanceRun(tx, run.id, x.attempt, usage, true);
    if (!adv) throw x.refused();
    cancelRequested = adv.cancelRequestedAt !== null;
    return { messageId, rows };
  });
  x.pendingResults = null;
  x.toolIterations++;
  x.transcript.push({
    role: 'assistant',
    content: (message.content as Block[]).map(toParamBlock) as Anthropic.ContentBlockParam[],
  });
  x.open = { messageId, uses, rows, results: new Map() };
  await x.step('tool_turn_stored');
  if (cancelRequested) throw new ExecutionAborted('cancel');
}

function toolOf(x: ExecutionState, agent: AgentDefinition, name: string) {
  return (agent.tools ?? []).includes(name) ? x.rt.registry.tools.get(name) : undefined;
}

export function usageOf(m: Anthropic.Message): TokenUsage {
  const u = m.usage;
  return {
    inputTokens: u?.input_tokens ?? 0,
    outputTokens: u?.output_tokens ?? 0,
    cacheCreationInputTokens: u?.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: u?.cache_read_input_tokens ?? 0,
  };
}

export function assistantMessage(m: Anthropic.Message, usage: TokenUsage): NewMessage {
  return { role: 'assistant', content: m.content, stopReason: m.stop_reason ?? null, usage };
}
