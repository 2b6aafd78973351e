import type { Queryable } from '../db/queryable.js';
import { notifyStream } from './sql/notifyStream.js';
import type { RunEvent } from './types.js';

/** Postgres refuses NOTIFY payloads of 8000 bytes or more; stay well below. */
export const MAX_PAYLOAD_BYTES = 7500;

/**
 * Buffers a run's stream events so a model call costs one NOTIFY commit per flush interval, not
 * one per token. While a model call streams, `start()` flushes every `intervalMs` (each flush is
 * one autocommit statement); what is left when the call ends goes out inside the transaction that
 * stores the assistant message (`drain()`), so a fast run sends no extra commit at all.
 */
export class StreamBuffer {
  private seq = 0;
  private text = '';
  private events: RunEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private active = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly runId: string,
    private readonly db: Queryable,
    private readonly intervalMs = 50,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  pushText(delta: string): void {
    this.text += delta;
    this.schedule();
  }

  push(event: RunEvent): void {
    this.flushText();
    this.events.push(event);
    this.schedule();
  }

  /**
   * Periodic flushing while a model call streams. The timer is armed only when something is
   * buffered (one timeout per flush, not an interval per run): with thousands of runs waiting on
   * the model, an idle run costs no timer callbacks and no statements.
   */
  start(): void {
    this.active = true;
    this.schedule();
  }

  stop(): void {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (!this.active || this.timer || (this.text === '' && this.events.length === 0)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.text === '' && this.events.length === 0) return;
      const payloads = this.take();
      // Flushes are chained so their commits (and so their deliveries) keep the events' order.
      this.flushing = this.flushing.then(() => notifyStream(this.db, payloads)).catch(this.onError);
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops the timer, waits for flushes in flight, and returns what is left as payloads for the
   * caller's transaction (sent there with notifyStream before the run's state changes).
   */
  async drain(): Promise<string[]> {
    this.stop();
    await this.flushing;
    return this.take();
  }

  /** Drops buffered text (a failed model call's partial output that will be retried). */
  discardText(): void {
    this.text = '';
  }

  private flushText(): void {
    if (this.text === '') return;
    this.events.push({ type: 'text_delta', text: this.text });
    this.text = '';
  }

  private take(): string[] {
    this.flushText();
    const out: string[] = [];
    for (const e of this.events) {
      if (e.type === 'text_delta') {
        // Most deltas are one piece (splitText's pieces are at most 2,000 code points).
        const whole = e.text.length <= 2000 ? this.envelopeIfFits(e) : null;
        if (whole !== null) {
          out.push(whole);
          continue;
        }
        for (const piece of splitText(e.text, (t) => this.fits({ type: 'text_delta', text: t }))) {
          out.push(this.envelope({ type: 'text_delta', text: piece }));
        }
      } else {
        out.push(this.envelopeIfFits(e) ?? this.envelope(this.fit(e)));
      }
    }
    this.events = [];
    return out;
  }

  private envelope(e: RunEvent): string {
    return JSON.stringify({ r: this.runId, n: this.seq++, e });
  }

  /** The envelope when it fits a payload (serialized once, not once to measure and once to send), else null. */
  private envelopeIfFits(e: RunEvent): string | null {
    const json = JSON.stringify({ r: this.runId, n: this.seq, e });
    // A UTF-8 byte per UTF-16 unit at most 3: a short envelope needs no count.
    if (json.length * 3 > MAX_PAYLOAD_BYTES && Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) return null;
    this.seq++;
    return json;
  }

  private fits(e: RunEvent): boolean {
    return Buffer.byteLength(JSON.stringify({ r: this.runId, n: this.seq, e })) <= MAX_PAYLOAD_BYTES;
  }

  /** Keeps tool events under the payload limit: a big input or output is cut and marked truncated. */
  private fit(e: RunEvent): RunEvent {
    if (this.fits(e)) return e;
    // The text cut by 30% (whole characters) until the event built from it fits.
    const shrink = (text: string, withText: (cut: string) => RunEvent): RunEvent => {
      let chars = Array.from(text);
      let cut: RunEvent;
      do {
        chars = chars.slice(0, Math.floor(chars.length * 0.7));
        cut = withText(chars.join(''));
      } while (!this.fits(cut) && chars.length > 0);
      return cut;
    };
    if (e.type === 'tool_call')
      return shrink(JSON.stringify(e.input ?? null), (input) => ({ ...e, input, truncated: true }));
    if (e.type === 'tool_result') return shrink(e.output, (output) => ({ ...e, output, truncated: true }));
    return e;
  }

  /** Serializes one event for a one-off notification (e.g. tool_result sent with its row). */
  payloadFor(event: RunEvent): string {
    return this.envelopeIfFits(event) ?? this.envelope(this.fit(event));
  }
}

/** Splits text into pieces whose envelope fits a NOTIFY payload, never inside a code point. */
function splitText(text: string, fits: (t: string) => boolean): string[] {
  const out: string[] = [];
  let rest = Array.from(text);
  while (rest.length > 0) {
    let n = Math.min(rest.length, 2000);
    while (n > 1 && !fits(rest.slice(0, n).join(''))) n = Math.floor(n / 2);
    out.push(rest.slice(0, n).join(''));
    rest = rest.slice(n);
  }
  return out;
}
