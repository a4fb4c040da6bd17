/**
 * How much the bounded fast-check fuzz tests run: their own small default inside `npm test`;
 * `npm run fuzz:auth` raises it with `ALLSOURCE_FUZZ_RUNS` (runs per property) and may fix
 * `ALLSOURCE_FUZZ_SEED` to replay a failure (fast-check prints the seed and path when one fails).
 */
export const fuzzRuns = (fallback: number): number => {
  const n = Number(process.env.ALLSOURCE_FUZZ_RUNS)
  return Number.isSafeInteger(n) && n > 0 ? n : fallback
}

/** A fixed seed for reproducible CI runs, unless `ALLSOURCE_FUZZ_SEED` (a number) or `random` asks otherwise. */
export const fuzzSeed = (fallback: number): { readonly seed: number } | Record<string, never> => {
  const raw = process.env.ALLSOURCE_FUZZ_SEED
  if (raw === 'random') return {}
  const n = Number(raw)
  return raw !== undefined && raw !== '' && Number.isSafeInteger(n) ? { seed: n } : { seed: fallback }
}

/** A test timeout that grows with the run budget: `msPerRun` each, at least `floor`. */
export const fuzzTimeout = (fallbackRuns: number, msPerRun: number, floor: number): number => Math.max(floor, fuzzRuns(fallbackRuns) * msPerRun)
