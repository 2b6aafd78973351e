import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';

/**
 * The Chromium the browser tests drive: CHROMIUM_PATH, else the Debian package's (`chromium`,
 * which .ci/run installs), else other usual places. Null when there is none: the tests then skip
 * and say why.
 */
export function findChromium(): string | null {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
  ];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

/** A headless Chromium; `--no-sandbox` only as root, where Chromium's sandbox cannot start. */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  const puppeteer = (await import('puppeteer-core')).default;
  const root = process.getuid?.() === 0;
  return await puppeteer.launch({
    executablePath,
    headless: true,
    args: [...(root ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** Where the browser tests keep their screenshots (gitignored): test-output/<suite>/. */
export function screenshotDir(suite: string): string {
  const dir = path.resolve('test-output', suite);
  mkdirSync(dir, { recursive: true });
  return dir;
}
