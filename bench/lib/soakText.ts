/**
 * The soak's prompt and answer texts, shared by the bulk load (bench/lib/soakLoad.ts, in SQL), the
 * burst's prompt (bench/metrics/soakPhase.ts) and the fake model's answer to it
 * (bench/workers/fakeModel.ts), so the burst writes rows the size of the loaded ones.
 */

/** Filler of the loaded prompts (SQL rpad to 150 characters). */
export const PROMPT_FILL = 'the customer reports that the billing export fails every other night. ';
/** Filler of the loaded answers (SQL rpad to 300 characters). */
export const ANSWER_FILL = 'The export fails because the token expired; renew it and re-run the job. ';
/** A prompt containing this gets SOAK_ANSWER from the fake model instead of `ok`. */
export const LONG_ANSWER_MARK = '[long answer]';

/** PostgreSQL's rpad(text, n, fill). */
export function rpad(text: string, n: number, fill: string): string {
  let s = text;
  while (s.length < n) s += fill;
  return s.slice(0, n);
}

/** The burst's prompt: 150 characters like a loaded one (`Ticket i: …`). */
export const SOAK_PROMPT = rpad(`Ticket ${LONG_ANSWER_MARK}: `, 150, PROMPT_FILL);
/** The fake model's answer to SOAK_PROMPT: 300 characters like a loaded one. */
export const SOAK_ANSWER = rpad('Answer: ', 300, ANSWER_FILL);
