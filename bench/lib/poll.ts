import pg from 'pg';
import { HARNESS_APP, sleep } from './database.js';

/**
 * A single connection for polling during a measured window, counting its own statements so a
 * db-cost measurement can subtract them (every autocommit SELECT is a committed transaction).
 */
export class CountingClient {
  private readonly client: pg.Client;
  statements = 0;
  constructor(url: string) {
    this.client = new pg.Client({ connectionString: url, application_name: HARNESS_APP });
    this.client.on('error', () => {});
  }
  async connect(): Promise<this> {
    await this.client.connect();
    return this;
  }
  async query<R extends pg.QueryResultRow = any>(text: string, params?: unknown[]): Promise<R[]> {
    this.statements++;
    return (await this.client.query<R>(text, params)).rows;
  }
  /** Polls `sql` (returning one row with column n) until n >= target; throws after timeoutMs. */
  async waitForCount(sql: string, params: unknown[], target: number, timeoutMs: number, everyMs = 250): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.query<{ n: string }>(sql, params);
      const n = Number(rows[0]?.n ?? 0);
      if (n >= target) return;
      if (Date.now() > deadline) throw new Error(`only ${n} of ${target} done after ${timeoutMs} ms`);
      await sleep(everyMs);
    }
  }
  async end(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
