// The console in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core) against
// the real service process (npm start) answering with its offline fake model: log in, read the
// overview, start a run from the chat page and watch it stream to its end without a reload, then
// open its detail page and find the tool call. Screenshots go to test-output/console/.
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/access/keys.js';
import { findChromium, launchBrowser, screenshotDir } from '../helpers/browser.js';
import { test } from '../helpers/fixtures.js';
import { startService, type ServiceProcess } from '../helpers/service.js';

// The functions given to page.evaluate run in the page: its globals, typed loosely (the project's
// TypeScript has no DOM library).
declare const window: any;
declare const document: any;
declare const MutationObserver: any;

const chromium = findChromium();
if (!chromium) {
  console.warn(
    'console browser tests SKIPPED: no Chromium executable (set CHROMIUM_PATH or `apt-get install chromium`)',
  );
}

describe.skipIf(!chromium)('the console in a headless browser (Chromium)', () => {
  let service: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let adminKey: string;
  let runId: string;
  const shots = screenshotDir('console');
  const shot = (name: string) => page.screenshot({ path: path.join(shots, name), fullPage: true });

  test.beforeAll(async ({ db }) => {
    adminKey = (await createApiKey(db.pool, { role: 'admin', name: 'browser test' })).key;
    service = await startService({
      DATABASE_URL: db.url,
      ANTHROPIC_API_KEY: undefined,
      AGENTPG_API_TOKEN: undefined,
      // Each model answer takes 0.5 s: the run lasts long enough to be seen streaming.
      AGENTPG_FAKE_LATENCY_MS: '500',
    });
    browser = await launchBrowser(chromium!);
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 860 });
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('sends a browser without a login to /ui/login, and logs in with an API key', async () => {
    await page.goto(`${service.url}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.type('input[name=key]', 'agpk_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.$eval('[role=alert]', (e) => e.textContent)).toMatch(/wrong, unknown or revoked/);
    await page.type('input[name=key]', adminKey);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(new URL(page.url()).pathname).toBe('/ui');
    const cookie = (await browser.cookies()).find((c) => c.name === 'agentpg_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
  });

  it('shows the overview: this instance with its heartbeat age, and cleanup passes', async () => {
    await page.goto(`${service.url}/ui`);
    expect(await page.$eval('h1', (e) => e.textContent)).toBe('Overview');
    const instances = await page.$$eval('[data-table=instances] tbody tr', (rows) => rows.length);
    expect(instances).toBe(1);
    expect(await page.$eval('[data-age-seconds]', (e) => e.textContent)).toMatch(/\d+ s/);
    expect(await page.$eval('main', (e) => e.textContent)).toMatch(/Cleanup passes/);
    await shot('overview.png');
  });

  it('starts a run from the chat page and shows it streaming to completed, without a reload', async () => {
    await page.goto(`${service.url}/ui/chat`);
    await page.select('select[name=agent]', 'weather');
    await page.$eval('input[name=tenantId]', (e) => ((e as any).value = 'acme'));
    await page.type('textarea[name=prompt]', 'What is the weather in Paris?');
    // A marker a reload would wipe, and a record of what the page showed while the run went on.
    await page.evaluate(() => {
      const w = window;
      w.notReloaded = true;
      w.seen = [] as Array<{ state: string | undefined; toolCalls: number; text: string }>;
      new MutationObserver(() => {
        const run = document.querySelector('.chat-run');
        if (!run) return;
        w.seen.push({
          state: run.dataset.state,
          toolCalls: run.querySelectorAll('.tool-call').length,
          text: run.querySelector('.text')?.textContent ?? '',
        });
      }).observe(document.getElementById('chat-log'), {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
    });
    await page.click('#chat-form button[type=submit]');
    await page.waitForSelector('.chat-run[data-state=completed]', { timeout: 60_000 });
    const result = await page.evaluate(() => {
      const w = window;
      const run = document.querySelector('.chat-run')!;
      return {
        notReloaded: w.notReloaded === true,
        seen: w.seen as Array<{ state: string | undefined; toolCalls: number }>,
        runId: run.dataset.runId!,
        toolName: run.querySelector('.tool-call .tool-name')?.textContent,
        toolResult: run.querySelector('.tool-call .tool-result')?.textContent ?? '',
        texts: [...run.querySelectorAll('.text')].map((e: any) => e.textContent),
      };
    });
    expect(result.notReloaded).toBe(true);
    expect(result.toolName).toBe('get_weather');
    expect(result.toolResult).toMatch(/Paris/);
    expect(result.texts.join(' ')).toMatch(/Here is what the tools said/);
    // Streamed: the tool call was on the page while the run was still running.
    expect(result.seen.some((s) => s.state === 'running' && s.toolCalls > 0)).toBe(true);
    expect(result.seen.at(-1)?.state).toBe('completed');
    runId = result.runId;
    await shot('chat.png');
  });

  it("opens the run's detail page from the chat and shows its tool call, tokens and timings", async () => {
    await Promise.all([page.waitForNavigation(), page.click('.chat-run a.run-link')]);
    expect(new URL(page.url()).pathname).toBe(`/ui/runs/${runId}`);
    expect(await page.$eval('h1 [data-state]', (e) => e.textContent)).toBe('completed');
    expect(await page.$eval('.tool-call .tool-name', (e) => e.textContent)).toBe('get_weather');
    expect(await page.$eval('.tool-call .tool-input', (e) => e.textContent)).toMatch(/"city": "Paris"/);
    expect(await page.$eval('.tool-call .tool-result', (e) => e.textContent)).toMatch(/temperatureC/);
    expect(await page.$eval('table.facts', (e) => e.textContent)).toMatch(/tokens\s*\d+ in, \d+ out/);
    await shot('run-detail.png');
  });

  it('shows a run started elsewhere on the runs page as it changes state, without a reload', async () => {
    await page.goto(`${service.url}/ui/runs`);
    await page.evaluate(() => (window.notReloaded = true));
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${service.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBeLessThan(300);
      return (await res.json()) as { id: string };
    };
    const session = await post('/v1/sessions', { agent: 'chat', tenantId: 'acme', identifier: 'api' });
    const run = await post('/v1/runs', { sessionId: session.id, prompt: 'hello from the API' });
    await page.waitForSelector(`tr[data-run-id="${run.id}"] [data-state=completed]`, { timeout: 60_000 });
    expect(await page.evaluate(() => window.notReloaded === true)).toBe(true);
    await page.goto(`${service.url}/ui`);
    await page.waitForSelector('[data-state-row=completed]');
    await shot('overview-with-runs.png');
  });

  it('lists the run on the runs page and the session on the sessions page', async () => {
    await page.goto(`${service.url}/ui/runs?agent=weather`);
    expect(await page.$eval(`tr[data-run-id="${runId}"] [data-state]`, (e) => e.textContent)).toBe('completed');
    await shot('runs.png');
    await page.goto(`${service.url}/ui/sessions`);
    expect(await page.$eval('[data-table=sessions] tbody', (e) => e.textContent)).toMatch(/acme/);
  });
});
