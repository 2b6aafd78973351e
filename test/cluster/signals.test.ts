import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/signals-child.ts');

/** Starts the child, sends `signals` (each after its delay in ms), returns its exit code and output. */
async function signalled(signals: Array<[NodeJS.Signals, number]>) {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const ready = new Promise<void>((resolve) =>
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      if (l === 'ready') resolve();
    }),
  );
  const exited = once(child, 'exit');
  await ready;
  for (const [signal, delayMs] of signals) {
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill(signal);
  }
  const [code] = (await exited) as [number | null];
  return { code, lines };
}

describe('signal handlers', { timeout: 60_000 }, () => {
  it('one Ctrl-C delivered twice at once (the process group and a relaying wrapper) still stops gracefully', async () => {
    const { code, lines } = await signalled([
      ['SIGINT', 0],
      ['SIGINT', 30],
    ]);
    expect(lines).toContain('stopped');
    expect(code).toBe(0);
  });

  it('a second press while stopping exits at once (130)', async () => {
    const { code, lines } = await signalled([
      ['SIGINT', 0],
      ['SIGINT', 800],
    ]);
    expect(lines).not.toContain('stopped');
    expect(code).toBe(130);
  });
});
