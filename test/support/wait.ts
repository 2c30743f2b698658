/**
 * Polls until `check` gives a truthy value and returns it; bounded by `limitMs`. A check that throws
 * counts as "not yet" (a server still starting refuses connections); the last error is reported at the end.
 */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, limitMs = 20_000): Promise<NonNullable<T>> {
  const until = Date.now() + limitMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > until) throw new Error(
      `timed out waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}`,
    );
    await Bun.sleep(25);
  }
}
