import * as E from 'fp-ts/lib/Either.js'
import { compileFilter } from '../reading/filterEval.js'
import type { FunnelRequest } from './analyticsRequest.js'
import type { AnalyticsFold, FunnelReply } from './fold.js'

/** Per stream: for each depth, the latest deadline (start + withinMs) of a run that reached it; the deepest run. */
interface Runs {
  readonly deadlines: Float64Array
  best: number
}

/**
 * `funnel`: per step, how many streams reached it. Any step-1 event may start a run; step k+1
 * needs a later event of the same stream (a higher version) matching it, with a timestamp at most
 * the run's start + `withinMs`. A stream counts for step k when some run reached it.
 *
 * Per stream it keeps one deadline per depth: of two runs at the same depth, the one with the later
 * deadline can take every continuation the other can (later events have higher versions than
 * both), so the rest are dropped. Cost per event: O(steps).
 */
export const funnelFold = (r: Pick<FunnelRequest, 'steps' | 'withinMs'>): AnalyticsFold<FunnelReply> => {
  const preds = r.steps.map(compileFilter)
  const n = preds.length
  const first = preds[0] ?? (() => false)
  const streams = new Map<string, Runs>()
  return {
    add: (e, ms) => {
      let s = streams.get(e.stream)
      if (s === undefined) {
        if (!first(e)) return
        s = { deadlines: new Float64Array(n).fill(Number.NEGATIVE_INFINITY), best: 0 }
        streams.set(e.stream, s)
      } else {
        // Deepest first, so one event advances a run by one step at most.
        for (let k = n - 1; k >= 1; k--) {
          const from = s.deadlines[k - 1] as number
          if (from >= ms && from > (s.deadlines[k] as number) && (preds[k] as (typeof preds)[number])(e)) {
            s.deadlines[k] = from
            if (k + 1 > s.best) s.best = k + 1
          }
        }
        if (!first(e)) return
      }
      const deadline = ms + r.withinMs
      if (deadline > (s.deadlines[0] as number)) s.deadlines[0] = deadline
      if (s.best < 1) s.best = 1
    },
    result: () => {
      const counts = new Array<number>(n).fill(0)
      for (const s of streams.values()) for (let k = 0; k < s.best; k++) counts[k] = (counts[k] as number) + 1
      return E.right({ steps: counts.map((count) => ({ count })) })
    },
  }
}
