import * as E from 'fp-ts/lib/Either.js'
import { DAY, isoDayOf } from './buckets.js'
import type { SummaryRequest } from './analyticsRequest.js'
import { type AnalyticsFold, bump, type SummaryReply } from './fold.js'

/** Entries by count descending, ties by key ascending (code units), at most `top` when given. */
export const rank = <K extends string | number>(m: ReadonlyMap<K, number>, top?: number): [K, number][] => {
  const all = [...m.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  return top === undefined ? all : all.slice(0, top)
}

/** `summary`: the `top` types and streams by count, and every UTC day's count, each by count descending. */
export const summaryFold = (r: Pick<SummaryRequest, 'top'>): AnalyticsFold<SummaryReply> => {
  const types = new Map<string, number>()
  const streams = new Map<string, number>()
  const days = new Map<number, number>()
  return {
    add: (e, ms) => {
      bump(types, e.type)
      bump(streams, e.stream)
      bump(days, Math.floor(ms / DAY))
    },
    result: () =>
      E.right({
        types: rank(types, r.top).map(([type, count]) => ({ type, count })),
        streams: rank(streams, r.top).map(([stream, count]) => ({ stream, count })),
        days: rank(days).map(([d, count]) => ({ day: isoDayOf(d), count })),
      }),
  }
}
