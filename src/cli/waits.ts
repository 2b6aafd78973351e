// `agentpg approvals ...` and `agentpg inputs ...`: what runs wait on, and the person's side of it.
// The same validated functions as client.approvals / client.inputs (src/runs), over the CLI's pool.
import { userInfo } from 'node:os';
import type pg from 'pg';
import { APPROVALS } from '../runs/approvals.js';
import { INPUTS } from '../runs/inputs.js';
import type { PendingWait } from '../runs/sql/listWaits.js';
import { listWaitsOf, recordWait } from '../runs/waitChecks.js';
import { AlreadyDecidedError, NotFoundError, ValidationError } from '../errors.js';
import { formatTable } from './table.js';

export const WAITS_USAGE = `  approvals list [--tenant T] [--agent A] [--run ID] [--limit N]
                                  tool calls waiting for a person's approval, oldest first
  approvals decide <run-id> <tool-use-id> approve|deny [--message M] [--input <json>] [--by NAME]
                                  --input: approve with this input instead of the model's
  inputs list [--tenant T] [--agent A] [--run ID] [--limit N]
                                  questions tools asked the user (requestInput), oldest first
  inputs answer <run-id> <tool-use-id> <answer> [--by NAME]
                                  the answer becomes the tool's result; the run resumes
  --by defaults to cli:<your user name>`;

export interface WaitsArgs {
  positionals: string[];
  values: {
    tenant?: string[];
    agent?: string;
    run?: string;
    limit?: string;
    message?: string;
    input?: string;
    by?: string;
  };
  print(data: unknown, human: () => string): void;
  out(s: string): void;
  usageError(message: string): number;
}

/** Runs an approvals/inputs command; null when the command is not one of them. */
export async function runWaitsCommand(db: pg.Pool, a: WaitsArgs): Promise<number | null> {
  const [command, sub, runId, toolUseId, extra] = a.positionals;
  if (command !== 'approvals' && command !== 'inputs') return null;
  const by = a.values.by ?? `cli:${userInfo().username}`;
  const filter = () => {
    const tenants = a.values.tenant ?? [];
    if (tenants.length > 1) throw new ValidationError('one --tenant at most');
    return {
      tenantId: tenants[0],
      agentName: a.values.agent,
      runId: a.values.run,
      limit: a.values.limit === undefined ? undefined : Number(a.values.limit),
    };
  };
  try {
    switch (`${command} ${sub ?? ''}`.trim()) {
      case 'approvals list':
        return printWaits(a, await listWaitsOf(APPROVALS, db, filter()), 'input');
      case 'approvals decide': {
        if (!runId || !toolUseId || (extra !== 'approve' && extra !== 'deny'))
          return a.usageError('approvals decide needs <run-id> <tool-use-id> approve|deny');
        let input: unknown;
        if (a.values.input !== undefined) {
          try {
            input = JSON.parse(a.values.input);
          } catch {
            return a.usageError('--input must be JSON');
          }
        }
        const res = await recordWait(APPROVALS, db, runId, {
          toolUseId,
          decision: extra,
          decidedBy: by,
          message: a.values.message,
          input,
        });
        a.print(res, () => `${extra === 'approve' ? 'approved' : 'denied'}; the run is ${res.runState}`);
        return 0;
      }
      case 'inputs list':
        return printWaits(a, await listWaitsOf(INPUTS, db, filter()), 'question');
      case 'inputs answer': {
        if (!runId || !toolUseId || extra === undefined)
          return a.usageError('inputs answer needs <run-id> <tool-use-id> <answer>');
        const res = await recordWait(INPUTS, db, runId, { toolUseId, answer: extra, answeredBy: by });
        a.print(res, () => `answered; the run is ${res.runState}`);
        return 0;
      }
      default:
        return a.usageError(`unknown command: ${a.positionals.join(' ')}`);
    }
  } catch (err) {
    if (err instanceof ValidationError) return a.usageError(err.message);
    if (err instanceof NotFoundError || err instanceof AlreadyDecidedError) {
      a.out(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** A list of waits as a table: the call, what it waits on (`subject`: its input, or the question), whose, since when. */
function printWaits(a: WaitsArgs, rows: PendingWait[], subject: string): number {
  a.print(rows, () =>
    formatTable(rows as unknown as Record<string, unknown>[], [
      'runId',
      'toolUseId',
      'toolName',
      subject,
      'tenantId',
      'agentName',
      'requestedAt',
      'deadline',
    ]),
  );
  return 0;
}
