// `agentpg sessions ...` and `agentpg retention status`: a session's export and hold (the same
// validated functions as client.sessions, src/retention/sessions.ts), and the retention pass log.
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type pg from 'pg';
import { NotFoundError, ValidationError } from '../errors.js';
import { exportSession, holdSession, releaseSessionHold } from '../retention/sessions.js';
import { retentionStatus } from '../retention/sql/retentionStatus.js';
import { formatTable } from './table.js';

export const SESSIONS_USAGE = `  sessions export <session-id> [--out <file>]
                                  the session, its runs, messages, tool calls and compactions as JSON
  sessions hold <session-id> [--message <reason>] [--by NAME]
                                  retention never deletes it (nor its child sessions) until released
  sessions release <session-id>   lifts the hold
  retention status                the cluster's last retention pass, and what passes retired in 24 h`;

export interface SessionsArgs {
  positionals: string[];
  values: { message?: string; by?: string; out?: string; json?: boolean };
  print(data: unknown, human: () => string): void;
  out(s: string): void;
  usageError(message: string): number;
}

/** Runs a sessions/retention command; null when the command is not one of them. */
export async function runSessionsCommand(db: pg.Pool, a: SessionsArgs): Promise<number | null> {
  const [command, sub, id] = a.positionals;
  if (command !== 'sessions' && command !== 'retention') return null;
  try {
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'sessions export': {
        if (!id) return a.usageError('sessions export needs a session id');
        const doc = await exportSession(db, id);
        const text = JSON.stringify(doc, null, 2);
        if (a.values.out) {
          await writeFile(a.values.out, text + '\n');
          a.print({ sessionId: id, file: a.values.out }, () => `exported to ${a.values.out}`);
        } else a.out(text);
        return 0;
      }
      case 'sessions hold': {
        if (!id) return a.usageError('sessions hold needs a session id');
        const hold = await holdSession(db, id, {
          reason: a.values.message,
          heldBy: a.values.by ?? `cli:${userInfo().username}`,
        });
        a.print(hold, () => formatTable([{ ...hold }]));
        return 0;
      }
      case 'sessions release': {
        if (!id) return a.usageError('sessions release needs a session id');
        const released = await releaseSessionHold(db, id);
        a.print({ released }, () => (released ? 'hold released' : 'the session had no hold'));
        return 0;
      }
      case 'retention status': {
        const status = await retentionStatus(db);
        a.print(status, () =>
          [
            'Last pass',
            status.lastPass
              ? formatTable([
                  {
                    instance: status.lastPass.instanceId,
                    startedAt: status.lastPass.startedAt,
                    finishedAt: status.lastPass.finishedAt,
                    error: status.lastPass.error,
                    ...status.lastPass.retired,
                  },
                ])
              : '(none)',
            '',
            'Retired in the last 24 hours',
            formatTable([{ ...status.retiredLastDay }]),
          ].join('\n'),
        );
        return 0;
      }
      default:
        return a.usageError(`unknown command: ${a.positionals.join(' ')}`);
    }
  } catch (err) {
    if (err instanceof ValidationError) return a.usageError(err.message);
    if (err instanceof NotFoundError) {
      a.out(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
