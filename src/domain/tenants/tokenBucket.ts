import * as t from 'io-ts'

/**
 * A token bucket (issue 11 item 6) as pure values: a bucket holds at most `burst` tokens, gains
 * `rate` tokens per second, and a request of `n` goes ahead when `n` tokens are there to take.
 *
 * Exact arithmetic: tokens are counted in thousandths (`millitokens`), so one millisecond adds
 * exactly `rate` millitokens and every quantity is an integer: no floating-point drift however
 * long a bucket lives, and `retryAfterMs` is exact to the millisecond. Times are integer
 * milliseconds (`Date.getTime()`); a clock that steps back adds nothing and takes nothing away.
 *
 * Guarantees (property-tested):
 * - over any interval of `d` ms, at most `burst + rate × d / 1000` tokens are taken;
 * - a refusal's `retryAfterMs` is the least wait: taking the same `n` after exactly
 *   `retryAfterMs` more ms succeeds (if nothing else took meanwhile), one ms earlier does not.
 */

const MAX_RATE = 1_000_000_000

/** A positive integer up to 10⁹: a bucket's rate or burst. */
export const BucketSize = t.brand(
  t.number,
  (n): n is t.Branded<number, { readonly BucketSize: unique symbol }> => Number.isSafeInteger(n) && n >= 1 && n <= MAX_RATE,
  'BucketSize',
)
export type BucketSize = t.TypeOf<typeof BucketSize>

/** `rate`: tokens added per second; `burst`: most tokens held (what an idle client may spend at once). Both integers in 1–10⁹. */
export const TokenBucketConfig = t.readonly(t.type({ rate: BucketSize, burst: BucketSize }), 'TokenBucketConfig')
export type TokenBucketConfig = t.TypeOf<typeof TokenBucketConfig>

/** A bucket's state: thousandths of a token held, as of `updatedAt` (epoch ms). */
export interface TokenBucketState {
  readonly millitokens: number
  readonly updatedAt: number
}

export type TakeResult =
  /** The tokens were taken. */
  | { readonly _tag: 'Taken'; readonly state: TokenBucketState }
  /** Not enough now; `retryAfterMs` ≥ 1 is exactly how long until there is. */
  | { readonly _tag: 'Wait'; readonly retryAfterMs: number; readonly state: TokenBucketState }
  /** `n` is more than `burst`: no wait would ever be enough. */
  | { readonly _tag: 'NeverEnough'; readonly state: TokenBucketState }

const PER_TOKEN = 1000

const capacity = (cfg: TokenBucketConfig): number => cfg.burst * PER_TOKEN

/** A full bucket at `now`: a client starts with its burst. */
export const fullBucket = (cfg: TokenBucketConfig, now: number): TokenBucketState => ({ millitokens: capacity(cfg), updatedAt: now })

/**
 * The state at `now`: what has accrued since `updatedAt`, capped at `burst` (also capped when the
 * config shrank since the state was made). `now` before `updatedAt` changes nothing.
 */
export const refill = (cfg: TokenBucketConfig, state: TokenBucketState, now: number): TokenBucketState => {
  const cap = capacity(cfg)
  if (now <= state.updatedAt) return state.millitokens > cap ? { ...state, millitokens: cap } : state
  // Capping the elapsed time first keeps rate × elapsed a safe integer for any gap.
  const elapsed = Math.min(now - state.updatedAt, Math.ceil(cap / cfg.rate))
  return { millitokens: Math.min(cap, state.millitokens + cfg.rate * elapsed), updatedAt: now }
}

/** Takes `n` tokens (a positive integer) at `now`, or says how long to wait. Never partially takes. */
export const take = (cfg: TokenBucketConfig, state: TokenBucketState, n: number, now: number): TakeResult => {
  const s = refill(cfg, state, now)
  const need = n * PER_TOKEN
  if (need > capacity(cfg)) return { _tag: 'NeverEnough', state: s }
  if (s.millitokens >= need) return { _tag: 'Taken', state: { ...s, millitokens: s.millitokens - need } }
  return { _tag: 'Wait', retryAfterMs: Math.ceil((need - s.millitokens) / cfg.rate), state: s }
}

/** Whole tokens available at `now`. */
export const available = (cfg: TokenBucketConfig, state: TokenBucketState, now: number): number =>
  Math.floor(refill(cfg, state, now).millitokens / PER_TOKEN)

/** Whether the bucket is full at `now`: forgetting it then loses nothing (a new one starts full). */
export const isFull = (cfg: TokenBucketConfig, state: TokenBucketState, now: number): boolean =>
  refill(cfg, state, now).millitokens >= capacity(cfg)
