/**
 * When the cluster's next cleanup pass is due. Passes run one per slot of `cleanupIntervalMs`
 * rounded up to whole seconds (pg-boss throttling counts in seconds, slots aligned to the epoch).
 * The next one is due when the slot after the one the last pass *started* in begins: a pass sent
 * for slot S may start only in slot S + 1 (the job waited for a worker), and its successor is then
 * not due before S + 2. With no pass yet, one is due now.
 */
export function nextCleanupDue(
  last: { startedAt: Date } | null,
  cleanupIntervalMs: number,
  now: number = Date.now(),
): Date {
  if (!last) return new Date(now);
  const slotMs = Math.max(1, Math.ceil(cleanupIntervalMs / 1000)) * 1000;
  return new Date(Math.floor(last.startedAt.getTime() / slotMs) * slotMs + slotMs);
}
