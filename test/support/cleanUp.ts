/**
 * Runs every clean-up step in order, each even if one before it failed, so no server or process a
 * test started outlives it (an `afterAll` that stops at its first throw leaks the rest). Undefined
 * steps (a fixture never built) are skipped; failures are swallowed.
 */
export const cleanUp = async (...steps: readonly (() => unknown)[]): Promise<void> => {
  for (const step of steps) {
    try {
      await step()
    } catch {
      // keep cleaning up
    }
  }
}
