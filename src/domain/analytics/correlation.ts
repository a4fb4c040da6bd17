import * as E from 'fp-ts/lib/Either.js'
import { compileFilter } from '../reading/filterEval.js'
import type { CorrelationRequest } from './analyticsRequest.js'
import type { AnalyticsFold, CorrelationReply } from './fold.js'

/** The first index of `xs` (ascending) holding a value >= `x`. */
const lowerBound = (xs: readonly number[], x: number): number => {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((xs[mid] as number) < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * `correlation`: how many a-events are followed by a b-event on the same stream with a higher
 * version and a timestamp at most the a-event's + `withinMs`. An event matching both filters can be
 * the b of earlier a-events and an a itself, never its own b.
 *
 * Per stream it keeps the deadlines (timestamp + withinMs) of a-events still waiting for a b,
 * sorted: a b at time t settles every waiting deadline >= t (a suffix, found by binary search).
 */
export const correlationFold = (r: Pick<CorrelationRequest, 'a' | 'b' | 'withinMs'>): AnalyticsFold<CorrelationReply> => {
  const isA = compileFilter(r.a)
  const isB = compileFilter(r.b)
  const waiting = new Map<string, number[]>()
  let count = 0
  return {
    add: (e, ms) => {
      const w = waiting.get(e.stream)
      if (w !== undefined && w.length > 0 && isB(e)) {
        const i = lowerBound(w, ms)
        count += w.length - i
        w.length = i
      }
      if (!isA(e)) return
      const deadline = ms + r.withinMs
      if (w === undefined) waiting.set(e.stream, [deadline])
      else if (w.length === 0 || (w[w.length - 1] as number) <= deadline) w.push(deadline)
      else w.splice(lowerBound(w, deadline), 0, deadline)
    },
    result: () => E.right({ count }),
  }
}
