import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';

/** Wall-clock milliseconds with sub-ms precision, comparable across processes on one machine. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

export interface WorkerMessage {
  type: string;
  [key: string]: unknown;
}

/**
 * A TypeScript worker script run as its own Node process (`node --import tsx script.ts`), talking
 * to the harness over the IPC channel: it sends `{ type, ... }` messages, the harness sends
 * commands. Every child is tracked so the harness can kill all of them on exit.
 */
export class Child {
  readonly proc: ChildProcess;
  readonly label: string;
  readonly messages: WorkerMessage[] = [];
  private listeners = new Set<(m: WorkerMessage) => void>();
  exited = false;
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  private stderrTail = '';
  private readonly exitPromise: Promise<void>;

  constructor(
    script: string | { file: string; plain: boolean },
    options: { label: string; env?: Record<string, string>; keepMessages?: boolean; args?: string[] },
  ) {
    this.label = options.label;
    const { file, plain } = typeof script === 'string' ? { file: script, plain: false } : script;
    const argv = plain ? [file] : ['--import', 'tsx', file];
    // BENCH_CPU_PROF=<dir>: every worker writes a V8 CPU profile there on exit (named by its label).
    const profDir = process.env.BENCH_CPU_PROF;
    if (profDir)
      argv.unshift('--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${this.label}-${Date.now()}.cpuprofile`);
    this.proc = spawn(process.execPath, [...argv, ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        LOG_LEVEL: process.env.BENCH_DEBUG ? 'info' : 'error',
        // V8 code cache on disk: module loading is most of a worker's start-up time.
        NODE_COMPILE_CACHE: path.join(os.tmpdir(), 'agentpg-bench-compile-cache'),
        ...process.env,
        ...options.env,
      },
    });
    liveChildren.add(this);
    // Output is kept (the tail goes into error messages) and shown live only with BENCH_DEBUG=1.
    const collect = (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
      if (process.env.BENCH_DEBUG) process.stderr.write(`[${this.label}] ${chunk.toString()}`);
    };
    this.proc.stdout?.on('data', collect);
    this.proc.stderr?.on('data', collect);
    const keep = options.keepMessages ?? true;
    this.proc.on('message', (m: WorkerMessage) => {
      if (keep) this.messages.push(m);
      for (const l of [...this.listeners]) l(m);
    });
    this.exitPromise = once(this.proc, 'exit').then(([code, signal]) => {
      this.exited = true;
      this.exitCode = code as number | null;
      this.signal = signal as NodeJS.Signals | null;
      liveChildren.delete(this);
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  on(listener: (m: WorkerMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(message: WorkerMessage): void {
    if (!this.exited && this.proc.connected) this.proc.send(message);
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(pred: (m: WorkerMessage) => boolean, timeoutMs: number, what = 'message'): Promise<WorkerMessage> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, m?: WorkerMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve(m!);
      };
      const timer = setTimeout(() => {
        const how = this.exited ? ` (exited ${this.exitCode ?? this.signal})` : '';
        finish(new Error(`${this.label}: no ${what} within ${timeoutMs} ms${how}\n${this.stderrTail}`));
      }, timeoutMs);
      const off = this.on((m) => {
        if (pred(m)) finish(null, m);
      });
      // A dead child answers nothing: fail fast (after in-flight IPC messages had a moment).
      void this.exitPromise.then(() =>
        setTimeout(
          () =>
            finish(
              new Error(`${this.label} exited (${this.exitCode ?? this.signal}) before ${what}\n${this.stderrTail}`),
            ),
          200,
        ),
      );
    });
  }

  /** Sends a request and waits for the reply carrying the same `reqId`. */
  async request(message: WorkerMessage, timeoutMs = 30_000): Promise<WorkerMessage> {
    const reqId = `${Date.now()}-${Math.random()}`;
    const reply = this.waitFor((m) => m.reqId === reqId, timeoutMs, `reply to ${message.type}`);
    this.send({ ...message, reqId });
    const r = await reply;
    if (r.type === 'error') throw new Error(`${this.label}: ${String(r.message)}`);
    return r;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.proc.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  wait(): Promise<void> {
    return this.exitPromise;
  }
}

const liveChildren = new Set<Child>();

/** Kills every child still alive: the harness calls this on exit, error and Ctrl-C. */
export function killAllChildren(): void {
  for (const c of liveChildren) c.kill('SIGKILL');
}

/** Runs `fn` on SIGINT/SIGTERM/exit once, so a Ctrl-C never leaves servers or children behind. */
export function onShutdown(fn: () => Promise<void> | void): void {
  let done = false;
  const run = async (code: number) => {
    if (done) return;
    done = true;
    killAllChildren();
    try {
      await fn();
    } finally {
      process.exit(code);
    }
  };
  process.once('SIGINT', () => void run(130));
  process.once('SIGTERM', () => void run(143));
  process.once('exit', () => killAllChildren());
}
