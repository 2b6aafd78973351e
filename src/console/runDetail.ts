import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import { seesTenant } from '../access/principal.js';
import { isTerminal, isUuid } from '../runs/rows.js';
import { listPendingApprovals } from '../runs/sql/approvals.js';
import { listPendingInputs } from '../runs/sql/inputRequests.js';
import { getRun } from '../runs/sql/getRun.js';
import { listRunMessages } from '../runs/sql/sessions.js';
import type { Run, StoredMessage } from '../runs/types.js';
import { HttpError } from '../service/httpError.js';
import type { ConsoleDeps } from './deps.js';
import { duration, json, page, stateBadge, time, type Html } from './layout.js';
import type { ConsoleEnv } from './login.js';
import { runsTable } from './runsPage.js';
import { childRuns } from './sql/childRuns.js';
import { runToolCalls, type ToolCallDetail } from './sql/runToolCalls.js';
import { scopeOf } from './sql/scope.js';
import { waitsSections } from './waitForms.js';

/** The run of the request's :id when this key may see it; else 404, as for a run that does not exist. */
export async function visibleRun(c: Context<ConsoleEnv>, deps: ConsoleDeps): Promise<Run> {
  const id = c.req.param('id') ?? '';
  const run = isUuid(id) ? await getRun(deps.db, id) : null;
  if (!run || !seesTenant(c.get('principal'), run.tenantId)) {
    throw new HttpError(404, 'not_found_error', `run not found: ${id.slice(0, 100)}`);
  }
  return run;
}

/**
 * GET /ui/runs/:id: the run's state, tokens and timings, its waiting approvals and questions (with
 * their forms: waits.ts), its conversation
 * (each tool call with its input, result and timings) and the runs of its child sessions. While the
 * run is unfinished, the script follows its event stream (/ui/runs/:id/stream).
 */
export function mountRunDetail(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui/runs/:id', async (c) => {
    const run = await visibleRun(c, deps);
    const [messages, calls, approvals, inputs, children] = await Promise.all([
      listRunMessages(deps.db, run.sessionId, run.id),
      runToolCalls(deps.db, run.id),
      listPendingApprovals(deps.db, { runId: run.id }),
      listPendingInputs(deps.db, { runId: run.id }),
      childRuns(deps.db, scopeOf(c.get('principal')), run.sessionId),
    ]);
    const body = html`<div data-run-live="${isTerminal(run.state) ? '' : run.id}">
      <h1>Run <code>${run.id}</code> ${stateBadge(run.state)}</h1>
      ${summary(run)} ${waitsSections(approvals, inputs, { withRun: false })}
      <section>
        <h2>Conversation</h2>
        ${conversation(messages, calls)}
        <div class="streaming" id="streaming" hidden></div>
      </section>
      ${
        children.length > 0
          ? html`<section>
              <h2>Child runs</h2>
              ${runsTable(children, 'No child run.')}
            </section>`
          : ''
      }
    </div>`;
    return c.html(page({ title: `Run ${run.id.slice(0, 8)}`, active: 'runs', principal: c.get('principal') }, body));
  });
}

function summary(run: Run): Html {
  const row = (k: string, v: unknown) =>
    html`<tr>
      <th>${k}</th>
      <td>${v}</td>
    </tr>`;
  return html`<table class="facts">
    ${row('agent', run.agentName)} ${row('tenant', run.tenantId)}
    ${row('session', html`<a href="/ui/runs?session=${run.sessionId}"><code>${run.sessionId}</code></a>`)}
    ${row('instance', run.instanceId ?? '—')} ${row('attempts', run.attempts)}
    ${row(
      'tokens',
      `${run.inputTokens} in, ${run.outputTokens} out, cache: ${run.cacheCreationInputTokens} written, ${run.cacheReadInputTokens} read`,
    )}
    ${row('tool turns', run.toolIterations)} ${row('created', time(run.createdAt))}
    ${row('queued for', duration(run.createdAt, run.startedAt))}
    ${row('ran for', duration(run.startedAt, run.finalizedAt))} ${row('finished', time(run.finalizedAt))}
    ${row('stop reason', run.stopReason ?? '—')}
    ${run.errorType ? row('error', html`<span class="error">${run.errorType}: ${run.errorMessage ?? ''}</span>`) : ''}
  </table>`;
}

/** The run's messages in order; a tool_use block shows its call's stored result (tool_result blocks are folded in). */
function conversation(messages: StoredMessage[], calls: ToolCallDetail[]): Html {
  const byUse = new Map(calls.map((c) => [c.toolUseId, c]));
  const blocks = messages.flatMap((m) =>
    m.content
      .filter((b) => b?.type !== 'tool_result')
      .map((b) => {
        if (b?.type === 'text')
          return html`<div class="msg msg-${m.role}">
            <span class="role">${m.role}</span>
            <div class="text">${String(b.text ?? '')}</div>
          </div>`;
        if (b?.type === 'tool_use') return toolCall(b, byUse.get(String(b.id)));
        return html`<div class="msg msg-${m.role}">
          <span class="role">${m.role} · ${String(b?.type)}</span>
          <pre>${json(b)}</pre>
        </div>`;
      })
      .concat(
        m.role === 'assistant'
          ? [
              html`<div class="tokens muted">
                ${m.inputTokens} tokens in, ${m.outputTokens} out · ${time(m.createdAt)}
              </div>`,
            ]
          : [],
      ),
  );
  return blocks.length > 0
    ? html`<div class="conversation">${blocks}</div>`
    : html`<p class="muted">No message stored yet.</p>`;
}

function toolCall(use: { id?: unknown; name?: unknown; input?: unknown }, call: ToolCallDetail | undefined): Html {
  return html`<div class="tool-call" data-tool-use-id="${String(use.id)}">
    <div class="tool-head">
      tool call <strong class="tool-name">${String(use.name)}</strong> ${call ? stateBadge(call.state) : ''}
      ${call?.approval ? html`<span class="approval">approval: ${call.approval}${call.decidedBy ? ` by ${call.decidedBy}` : ''}</span>` : ''}
      ${call ? html`<span class="muted">${call.attempts} attempt(s), ${call.durationMs ?? '—'} ms</span>` : ''}
    </div>
    <pre class="tool-input">${json(use.input)}</pre>
    ${
      call && (call.output !== null || call.errorMessage)
        ? html`<div class="tool-result ${call.isError ? 'error' : ''}">
            <span class="role">result</span>
            <pre>${call.output ?? call.errorMessage ?? ''}</pre>
          </div>`
        : ''
    }
  </div>`;
}
