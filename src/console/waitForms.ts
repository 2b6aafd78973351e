import { html } from 'hono/html';
import type { PendingApproval } from '../runs/sql/approvals.js';
import type { PendingInput } from '../runs/sql/inputRequests.js';
import { json, shortId, table, time, type Html } from './layout.js';

/**
 * The approvals and questions of a page (the waits page, or one run's page), each row with its
 * form. The forms post JSON through the console's script (assets/console.js, `wait-form`), which
 * reloads the page on success and shows the API's error message otherwise.
 */
export function waitsSections(
  approvals: PendingApproval[],
  inputs: PendingInput[],
  o: { withRun: boolean; empty?: string },
): Html {
  if (approvals.length === 0 && inputs.length === 0) return o.empty ? html`<p class="muted">${o.empty}</p>` : html``;
  return html`${section(o.withRun, 'approvals', 'Waiting for approval', ['input', 'decision'], approvals, (a) => ({
    subject: html`<pre>${json(a.input)}</pre>`,
    action: 'decisions',
    fields: html`<input name="message" placeholder="note (optional)" maxlength="10000" />
      <button type="submit" name="decision" value="approve">Approve</button>
      <button type="submit" name="decision" value="deny">Deny</button>`,
  }))}
  ${section(o.withRun, 'inputs', 'Waiting for an answer', ['question', 'answer'], inputs, (i) => ({
    subject: i.question,
    action: 'inputs',
    fields: html`<input name="answer" required maxlength="100000" placeholder="your answer" />
      <button type="submit">Answer</button>`,
  }))}`;
}

interface Wait {
  runId: string;
  agentName: string;
  tenantId: string;
  toolName: string;
  toolUseId: string;
  requestedAt: Date;
  deadline: Date | null;
}

/** One kind of wait as a table: a row per call, its subject, and its form posting to `action`. */
function section<W extends Wait>(
  withRun: boolean,
  cls: string,
  title: string,
  [subjectHead, formHead]: [string, string],
  waits: W[],
  view: (w: W) => { subject: Html | string; action: 'decisions' | 'inputs'; fields: Html },
): Html | '' {
  if (waits.length === 0) return '';
  const rows = waits.map((w) => {
    const v = view(w);
    return html`<tr>
      ${
        withRun
          ? html`<td>
              <a href="/ui/runs/${w.runId}"><code>${shortId(w.runId)}</code></a> ${w.agentName} · ${w.tenantId}
            </td>`
          : ''
      }
      <td>${w.toolName} <code class="muted">${w.toolUseId}</code></td>
      <td>${v.subject}</td>
      <td>${time(w.requestedAt)}</td>
      <td>${time(w.deadline)}</td>
      <td>
        <form class="wait-form" data-action="/ui/runs/${w.runId}/${v.action}">
          <input type="hidden" name="toolUseId" value="${w.toolUseId}" />
          ${v.fields}
          <span class="error form-error" role="alert"></span>
        </form>
      </td>
    </tr>`;
  });
  const heads = [...(withRun ? ['run'] : []), 'tool', subjectHead, 'requested', 'deadline', formHead];
  return html`<section class="${cls}">
    <h2>${title}</h2>
    ${table(heads, rows, '')}
  </section>`;
}
