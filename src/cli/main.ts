// The `agentpg` CLI: operators' view of a deployment, straight from the database.
//   agentpg migrate | status | runs list [--state S] [--limit N] | runs show ID | agents list
//   agentpg long-running list | start --kind K [--id ID] [--config JSON] [--inactive] | stop ID
//   agentpg keys create --role R [--tenant T]... [--name N] | list [--all] | revoke ID
//   agentpg approvals list | decide RUN TOOLUSE approve|deny; agentpg inputs list | answer RUN TOOLUSE TEXT (waits.ts)
//   agentpg sessions export ID [--out F] | hold ID | release ID; agentpg retention status (sessions.ts)
//   agentpg batches [--limit N] (batches.ts)
// Every command takes --json for scripts; DATABASE_URL selects the database, else the project's
// zero-config one (the embedded PostgreSQL a running `npm start` owns). The executable is bin.ts;
// this module only exports runCli.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ROLES } from '../access/principal.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../access/keys.js';
import { findLocalServer, localDataDir } from '../db/localServer.js';
import { migrate } from '../db/migrate.js';
import { NotFoundError, ValidationError } from '../errors.js';
import * as q from './queries.js';
import { formatTable } from './table.js';
import { runWaitsCommand, WAITS_USAGE } from './waits.js';
import { runSessionsCommand, SESSIONS_USAGE } from './sessions.js';
import { BATCHES_USAGE, runBatchesCommand } from './batches.js';
// The API's own validated functions (not its SQL): a person and client.longRunning change the
// desired state the same way, and the owner is woken by the same NOTIFY.
import { startLongRunningAgent, stopLongRunningAgent } from '../ownership/api.js';

const USAGE = `usage: agentpg <command> [--json]
  migrate                         apply agentpg's and pg-boss's schema
  status                          instances, queue depth, runs by state, long-running agents
  runs list [--state S] [--limit N]
  runs show <run-id>
  agents list
  long-running list
  long-running start --kind <kind> [--id <id>] [--config <json>] [--inactive]
                                  --inactive: create it (or set its config) without running it
  long-running stop <id>
  keys create --role admin|operator|tenant [--tenant <id>]... [--name <name>]
                                  an API key of the HTTP service, shown once (a tenant key needs --tenant)
  keys list [--all]               --all: revoked keys too
  keys revoke <key-id>            refused by every instance from its next request on
${WAITS_USAGE}
${SESSIONS_USAGE}
${BATCHES_USAGE}
environment: DATABASE_URL (default: the embedded PostgreSQL of a running zero-config \`npm start\`)`;

export async function runCli(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        state: { type: 'string' },
        limit: { type: 'string', default: '20' },
        kind: { type: 'string' },
        id: { type: 'string' },
        config: { type: 'string' },
        inactive: { type: 'boolean', default: false },
        role: { type: 'string' },
        tenant: { type: 'string', multiple: true },
        name: { type: 'string' },
        all: { type: 'boolean', default: false },
        agent: { type: 'string' },
        run: { type: 'string' },
        message: { type: 'string' },
        input: { type: 'string' },
        by: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usageError(out, (err as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    out(USAGE);
    // Asked for (--help): success. No command at all: a usage error, for scripts.
    return values.help ? 0 : 2;
  }
  const databaseUrl = process.env.DATABASE_URL || (await findLocalServer(process.env, process.cwd()));
  if (!databaseUrl) {
    out(
      'error: DATABASE_URL is not set, and no zero-config `npm start` of this project is running ' +
        `(its embedded PostgreSQL would be found from ${localDataDir(process.env, process.cwd())})`,
    );
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
    // The command families with files of their own; each answers null for a command not its own.
    const args = { positionals, values, print, out, usageError: (m: string) => usageError(out, m) };
    for (const run of [runWaitsCommand, runSessionsCommand, runBatchesCommand]) {
      const code = await run(db, args);
      if (code !== null) return code;
    }
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'status': {
        const data = {
          instances: await q.instances(db),
          queueDepth: await q.queueDepth(db),
          unroutableRuns: await q.unroutableRuns(db),
          runsByState: await q.runsByState(db),
          longRunningAgents: await q.longRunningAgents(db),
        };
        print(data, () =>
          [
            'Instances',
            formatTable(data.instances, ['id', 'hostname', 'pid', 'heartbeat_age_s', 'running_runs']),
            '',
            `Queue depth: ${data.queueDepth}`,
            ...(data.unroutableRuns.length > 0
              ? [
                  '',
                  'Queued runs no live instance can run (agent or one of its tools missing)',
                  formatTable(data.unroutableRuns),
                ]
              : []),
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
          [
            formatTable([data.run]),
            '',
            'Messages',
            formatTable(data.messages),
            '',
            'Tool calls',
            formatTable(data.toolCalls),
          ].join('\n'),
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
        // No --config: undefined, so a restart keeps the stored config.
        let config: Record<string, unknown> | undefined;
        try {
          config = values.config ? JSON.parse(values.config) : undefined;
        } catch {
          return usageError(out, '--config must be JSON');
        }
        const row = await startLongRunningAgent(db, {
          id: values.id,
          kind: values.kind,
          config,
          active: !values.inactive,
        });
        print(row, () => formatTable([row]));
        return 0;
      }
      case 'long-running stop': {
        if (!arg) return usageError(out, 'long-running stop needs an id');
        let row;
        try {
          row = await stopLongRunningAgent(db, arg);
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
          out(`error: long-running agent not found: ${arg}`);
          return 1;
        }
        print(row, () => formatTable([row]));
        return 0;
      }
      case 'keys create': {
        const role = values.role as (typeof ROLES)[number] | undefined;
        if (!role || !ROLES.includes(role)) return usageError(out, `keys create needs --role ${ROLES.join('|')}`);
        let created;
        try {
          created = await createApiKey(db, { role, tenantIds: values.tenant, name: values.name });
        } catch (err) {
          if (err instanceof ValidationError) return usageError(out, err.message);
          throw err;
        }
        print(created, () =>
          [
            formatTable([{ ...created, key: undefined, tenantIds: created.tenantIds.join(',') }], KEY_COLUMNS),
            '',
            `key (shown only now, store it safely): ${created.key}`,
          ].join('\n'),
        );
        return 0;
      }
      case 'keys list': {
        const rows = await listApiKeys(db, { includeRevoked: values.all });
        print(rows, () =>
          formatTable(
            rows.map((r) => ({ ...r, tenantIds: r.tenantIds.join(',') })),
            KEY_COLUMNS,
          ),
        );
        return 0;
      }
      case 'keys revoke': {
        if (!arg) return usageError(out, 'keys revoke needs a key id');
        const row = await revokeApiKey(db, arg);
        if (!row) {
          out(`error: API key not found: ${arg}`);
          return 1;
        }
        print(row, () => formatTable([{ ...row, tenantIds: row.tenantIds.join(',') }], KEY_COLUMNS));
        return 0;
      }
      default:
        return usageError(out, `unknown command: ${positionals.join(' ')}`);
    }
  } finally {
    await db.end();
  }
}

const KEY_COLUMNS = ['id', 'name', 'role', 'tenantIds', 'createdAt', 'revokedAt', 'lastUsedAt'];

function usageError(out: (s: string) => void, message: string): number {
  out(`error: ${message}\n${USAGE}`);
  return 2;
}
