import * as E from 'fp-ts/lib/Either.js'
import { indexOf, isoStartOf } from './buckets.js'
import type { FrequencyRequest } from './analyticsRequest.js'
import { type AnalyticsFold, bump, type FrequencyReply } from './fold.js'

/** `frequency`: events per UTC `bucket`, empty buckets omitted, ascending by start. */
export const frequencyFold = (r: Pick<FrequencyRequest, 'bucket'>): AnalyticsFold<FrequencyReply> => {
  const counts = new Map<number, number>()
  return {
    add: (_e, ms) => bump(counts, indexOf(ms, r.bucket)),
    result: () =>
      E.right({
        buckets: [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([i, count]) => ({ start: isoStartOf(i, r.bucket), count })),
      }),
  }
}
