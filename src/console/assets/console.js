// The agentpg console's one script (served at /ui/assets/console.js, no build step, no CDN).
// Live updates come from the service's event streams (EventSource over SSE, fed by NOTIFY): the
// page never polls. What it does:
// - pages with <body data-live="cluster"> follow /ui/events and re-read their <main> when a run,
//   instance or long-running agent changes (a run's state badge is updated at once);
// - a run page whose run is unfinished follows /ui/runs/:id/stream;
// - the chat page posts a prompt to /ui/chat and renders the run's stream as it arrives.
'use strict';

(function () {
  const main = () => document.getElementById('main');

  // Re-reads this page and swaps its <main>: at most one request in flight, bursts coalesced.
  let refreshTimer = null;
  let refreshing = false;
  let refreshAgain = false;
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(refresh, 500);
  }
  async function refresh() {
    refreshTimer = null;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    // Someone typing in a filter keeps their input: try again when they leave the field.
    const active = document.activeElement;
    if (active && active.form && main().contains(active)) {
      active.addEventListener('blur', scheduleRefresh, { once: true });
      return;
    }
    refreshing = true;
    try {
      const res = await fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
      if (res.redirected || res.status === 401) return location.assign('/ui/login');
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const next = doc.getElementById('main');
      if (next) main().replaceChildren(...next.childNodes);
      document.dispatchEvent(new CustomEvent('console:refreshed'));
    } catch {
      // The next event tries again.
    } finally {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleRefresh();
      }
    }
  }

  function followCluster() {
    const events = new EventSource('/ui/events');
    events.addEventListener('run_state_changed', (e) => {
      const data = JSON.parse(e.data);
      for (const badge of document.querySelectorAll(`[data-run-id="${CSS.escape(data.runId)}"] [data-state]`)) {
        badge.textContent = data.state;
        badge.dataset.state = data.state;
        badge.className = `state state-${data.state}`;
      }
      scheduleRefresh();
    });
    for (const type of ['instance_registered', 'instance_deregistered', 'ownership_changed', 'resync']) {
      events.addEventListener(type, scheduleRefresh);
    }
    // EventSource reconnects by itself; what changed meanwhile is re-read once it is back.
    events.addEventListener('ready', scheduleRefresh);
  }

  // Heartbeat ages tick locally from the age the server read (no request).
  function tickAges() {
    for (const cell of document.querySelectorAll('[data-age-seconds]')) {
      const age = Number(cell.dataset.ageSeconds) + (Date.now() - Number(cell.dataset.renderedAt)) / 1000;
      cell.textContent = `${age.toFixed(0)} s`;
    }
  }

  /**
   * Follows one run's event stream and hands each event to `on`. With replay, the stream starts
   * with the run's stored turns, so a reconnect (after a network error) starts over: `onRestart`
   * clears what was shown. Closes at the run's `end`.
   */
  function followRun(runId, { replay, on, onRestart }) {
    let ended = false;
    let attempts = 0;
    const open = (withReplay) => {
      const source = new EventSource(`/ui/runs/${encodeURIComponent(runId)}/stream${withReplay ? '?replay=1' : ''}`);
      for (const type of ['state', 'text_delta', 'tool_call', 'tool_result', 'approval_requested', 'end']) {
        source.addEventListener(type, (e) => {
          attempts = 0;
          const event = JSON.parse(e.data);
          if (event.type === 'end') {
            ended = true;
            source.close();
          }
          on(event);
        });
      }
      source.addEventListener('error', () => {
        source.close();
        if (ended || attempts++ > 10) return;
        setTimeout(() => {
          onRestart();
          open(true);
        }, 1000);
      });
    };
    open(replay);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function followRunPage() {
    const holder = document.querySelector('[data-run-live]');
    const runId = holder && holder.dataset.runLive;
    if (!runId) return;
    followRun(runId, {
      replay: false,
      onRestart: scheduleRefresh,
      on: (event) => {
        if (event.type === 'text_delta') {
          const box = document.getElementById('streaming');
          if (box) {
            box.hidden = false;
            box.textContent += event.text;
          }
          return;
        }
        scheduleRefresh();
      },
    });
  }

  /** One run in the chat log: the prompt, then the answer's text and tool calls as they stream. */
  function renderChatRun(log, runId, prompt) {
    const user = el('div', 'msg msg-user');
    log.append(user);
    user.append(el('span', 'role', 'you'), el('div', 'text', prompt));
    const turn = el('div', 'msg msg-assistant chat-run');
    turn.dataset.runId = runId;
    const head = el('div', 'chat-run-head');
    const badge = el('span', 'state state-queued', 'queued');
    badge.dataset.state = 'queued';
    const link = el('a', 'run-link', 'run details');
    link.href = `/ui/runs/${runId}`;
    head.append(el('span', 'role', 'agent'), badge, link);
    const body = el('div', 'chat-run-body');
    turn.append(head, body);
    log.append(turn);
    let text = null;
    const calls = new Map();
    const setState = (state) => {
      badge.textContent = state;
      badge.dataset.state = state;
      badge.className = `state state-${state}`;
      turn.dataset.state = state;
    };
    followRun(runId, {
      replay: true,
      onRestart: () => {
        body.replaceChildren();
        text = null;
        calls.clear();
      },
      on: (event) => {
        if (event.type === 'state') setState(event.state);
        else if (event.type === 'text_delta') {
          if (!text) body.append((text = el('div', 'text', '')));
          text.textContent += event.text;
        } else if (event.type === 'tool_call') {
          text = null;
          const call = el('div', 'tool-call');
          call.dataset.toolUseId = event.toolUseId;
          const callHead = el('div', 'tool-head', 'tool call ');
          callHead.append(el('strong', 'tool-name', event.name));
          call.append(callHead, el('pre', 'tool-input', JSON.stringify(event.input, null, 2)));
          calls.set(event.toolUseId, call);
          body.append(call);
        } else if (event.type === 'tool_result') {
          const call = calls.get(event.toolUseId);
          const result = el('div', `tool-result${event.isError ? ' error' : ''}`);
          result.append(el('span', 'role', 'result'), el('pre', '', event.output));
          (call || body).append(result);
        } else if (event.type === 'approval_requested') {
          body.append(el('p', 'approval', `waiting for approval of ${event.name} (until ${event.deadline})`));
        } else if (event.type === 'end') {
          setState(event.run.state);
          if (event.run.errorMessage) body.append(el('p', 'error', event.run.errorMessage));
        }
        turn.scrollIntoView({ block: 'end' });
      },
    });
  }

  function chatPage() {
    const form = document.getElementById('chat-form');
    if (!form) return;
    const log = document.getElementById('chat-log');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const payload = { agent: data.get('agent'), prompt: String(data.get('prompt') || '') };
      if (data.get('tenantId')) payload.tenantId = data.get('tenantId');
      if (data.get('sessionId')) payload.sessionId = data.get('sessionId');
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        const res = await fetch('/ui/chat', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify(payload),
        });
        const body = await res.json();
        if (!res.ok) {
          log.append(el('p', 'error', body.error ? body.error.message : `HTTP ${res.status}`));
          return;
        }
        // Later prompts continue this session (and its agent).
        form.elements.sessionId.value = body.sessionId;
        form.elements.agent.disabled = true;
        document.getElementById('chat-session').textContent = `session ${body.sessionId}`;
        form.elements.prompt.value = '';
        renderChatRun(log, body.runId, payload.prompt);
      } finally {
        button.disabled = false;
      }
    });
  }

  /**
   * Decision and answer forms (waitForms.ts): posted as JSON with the login cookie; the page is
   * read again on success, the API's error message shown in the form otherwise (409: someone
   * decided first).
   */
  function waitForms() {
    // Delegated: live pages replace <main>, and the forms in it, while the page is open.
    document.addEventListener('submit', async (e) => {
      const form = e.target;
      if (!form.classList || !form.classList.contains('wait-form')) return;
      e.preventDefault();
      const data = new FormData(form);
      const payload = { toolUseId: data.get('toolUseId') };
      if (e.submitter && e.submitter.name === 'decision') payload.decision = e.submitter.value;
      if (data.get('message')) payload.message = data.get('message');
      if (data.has('answer')) payload.answer = String(data.get('answer'));
      const error = form.querySelector('.form-error');
      for (const b of form.querySelectorAll('button')) b.disabled = true;
      try {
        const res = await fetch(form.dataset.action, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify(payload),
        });
        if (res.ok) {
          window.location.reload();
          return;
        }
        const body = await res.json().catch(() => ({}));
        error.textContent = body.error ? body.error.message : `HTTP ${res.status}`;
      } finally {
        for (const b of form.querySelectorAll('button')) b.disabled = false;
      }
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (document.body.dataset.live === 'cluster') followCluster();
    followRunPage();
    chatPage();
    waitForms();
    tickAges();
    setInterval(tickAges, 1000);
  });
})();
