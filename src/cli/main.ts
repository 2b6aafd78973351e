#!/usr/bin/env node
// The `agentpg` CLI: operators' view of a deployment, straight from the database.
//   agentpg migrate | status | runs list [--state S] [--limit N] | runs show ID | agents list
//   agentpg long-running list | start --kind K [--id ID] [--config JSON] | stop ID
// Every command takes --json for scripts; DATABASE_URL selects the database.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../db/migrate.js';
import { redactSecrets } from '../errors.js';
import * as q from './queries.js';
import { formatTable } from './table.js';
import { startLongRunningAgent, stopLongRunningAgent } from './longRunning.js';

const USAGE = `usage: agentpg <command> [--json]
  migrate                         apply agentpg's and pg-boss's schema
  status                          instances, queue depth, runs by state, long-running agents
  runs list [--state S] [--limit N]
  runs show <run-id>
  agents list
  long-running list
  long-running start --kind <kind> [--id <id>] [--config <json>]
  long-running stop <id>
environment: DATABASE_URL (required)`;

export async function runCli(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      state: { type: 'string' },
      limit: { type: 'string', default: '20' },
      kind: { type: 'string' },
      id: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return command ? 0 : 2;
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    out('error: DATABASE_URL is not set');
    return 2;
  }
  const print = (data: unknown, human: () => string) => out(values.json ? JSON.stringify(data, null, 2) : human());

  if (command === 'migrate') {
    await migrate(databaseUrl);
    print({ migrated: true }, () => 'migrated');
    return 0;
  }

  const db = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'agentpg-cli' });
  db.on('error', () => {});
  try {
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'status': {
        const data = {
          instances: await q.instances(db),
          queueDepth: await q.queueDepth(db),
          runsByState: await q.runsByState(db),
          longRunningAgents: await q.longRunningAgents(db),
        };
        print(data, () =>
          [
            'Instances',
            formatTable(data.instances, ['id', 'hostname', 'pid', 'heartbeat_age_s', 'running_runs']),
            '',
            `Queue depth: ${data.queueDepth}`,
            '',
            'Runs by state',
            formatTable(data.runsByState),
            '',
            'Long-running agents',
            formatTable(data.longRunningAgents, ['id', 'kind', 'active', 'owner', 'epoch', 'restart_count']),
          ].join('\n'),
        );
        return 0;
      }
      case 'runs list': {
        const rows = await q.listRuns(db, { state: values.state, limit: Number(values.limit) || 20 });
        print(rows, () => formatTable(rows));
        return 0;
      }
      case 'runs show': {
        if (!arg) return usageError(out, 'runs show needs a run id');
        const data = await q.showRun(db, arg);
        if (!data) {
          out(`error: run not found: ${arg}`);
          return 1;
        }
        print(data, () =>
          [formatTable([data.run]), '', 'Messages', formatTable(data.messages), '', 'Tool calls', formatTable(data.toolCalls)].join('\n'),
        );
        return 0;
      }
      case 'agents list': {
        const rows = await q.listAgents(db);
        print(rows, () => formatTable(rows));
        return 0;
      }
      case 'long-running list': {
        const rows = await q.longRunningAgents(db);
        print(rows, () => formatTable(rows));
        return 0;
      }
      case 'long-running start': {
        if (!values.kind) return usageError(out, 'long-running start needs --kind');
        let config: Record<string, unknown> = {};
        try {
          config = values.config ? JSON.parse(values.config) : {};
        } catch {
          return usageError(out, '--config must be JSON');
        }
        const row = await startLongRunningAgent(db, { id: values.id, kind: values.kind, config });
        print(row, () => formatTable([row]));
        return 0;
      }
      case 'long-running stop': {
        if (!arg) return usageError(out, 'long-running stop needs an id');
        const row = await stopLongRunningAgent(db, arg);
        if (!row) {
          out(`error: long-running agent not found: ${arg}`);
          return 1;
        }
        print(row, () => formatTable([row]));
        return 0;
      }
      default:
        return usageError(out, `unknown command: ${positionals.join(' ')}`);
    }
  } finally {
    await db.end();
  }
}

function usageError(out: (s: string) => void, message: string): number {
  out(`error: ${message}\n${USAGE}`);
  return 2;
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '');
if (invokedDirectly) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`error: ${redactSecrets(err instanceof Error ? err.message : String(err))}`);
      process.exit(1);
    },
  );
}
