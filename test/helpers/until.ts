/**
 * The one polling helper of the tests: calls `fn` every `everyMs` until it returns something
 * truthy, or fails after `timeoutMs` (under the tests' 60 s timeout, so the error names the condition).
 */
export async function until<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 50_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls `fn` until `predicate` holds on its value, and returns that value; the error shows the last one. */
export async function untilValue<T>(
  fn: () => Promise<T>,
  predicate: (v: T) => boolean,
  timeoutMs = 50_000,
): Promise<T> {
  let last: T | undefined;
  try {
    const hit = await until(async () => {
      last = await fn();
      return predicate(last) && { value: last };
    }, timeoutMs);
    return hit.value;
  } catch (err) {
    throw new Error(`${(err as Error).message} (last value: ${JSON.stringify(last)})`, { cause: err });
  }
}
