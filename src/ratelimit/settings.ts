import { z } from 'zod';

/** Limits of one model (and the client's API key), per minute, as the API counts them. */
export interface ModelRateLimits {
  requestsPerMinute?: number;
  /** Uncached input tokens (input_tokens + cache_creation_input_tokens), as the API counts ITPM. */
  inputTokensPerMinute?: number;
  /** Output tokens; a call reserves its max_tokens and gets the unused part back (as the API does). */
  outputTokensPerMinute?: number;
}

/** `rateLimits` in the client's config (README "Rate limits"). */
export interface RateLimitSettings {
  /** Default true. false: each call retries 429s on its own only (no shared bucket, no statement). */
  enabled?: boolean;
  /**
   * Configured limits per model name; they win over learned ones and refill over one minute. A model
   * not listed (the default: none) learns its limits from the API's rate-limit response headers.
   */
  models?: Record<string, ModelRateLimits>;
  /**
   * A call that must wait for capacity sleeps in place, holding its worker slot, while its total
   * wait stays under this; a longer wait hands the run back to its job, due when capacity is
   * expected (the slot is free meanwhile). Default 5 s.
   */
  maxWaitInPlaceMs?: number;
}

export const RATE_LIMIT_DEFAULTS = { enabled: true, maxWaitInPlaceMs: 5_000 } as const;

const perMinute = z.number().int().positive();

export const rateLimitSettingsSchema = z
  .object({
    enabled: z.boolean().optional(),
    models: z
      .record(
        z.string().min(1),
        z
          .object({
            requestsPerMinute: perMinute.optional(),
            inputTokensPerMinute: perMinute.optional(),
            outputTokensPerMinute: perMinute.optional(),
          })
          .strict(),
      )
      .optional(),
    maxWaitInPlaceMs: z.number().int().min(0).optional(),
  })
  .strict();
