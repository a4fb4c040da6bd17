import * as E from 'fp-ts/lib/Either.js'
import { indexOf } from './buckets.js'
import { frequencyOfCounts } from './frequencyReadModel.js'
import type { FrequencyRequest } from './analyticsRequest.js'
import { type AnalyticsFold, bump, type FrequencyReply } from './fold.js'

/** `frequency`: events per UTC `bucket`, empty buckets omitted, ascending by start. */
export const frequencyFold = (r: Pick<FrequencyRequest, 'bucket'>): AnalyticsFold<FrequencyReply> => {
  const counts = new Map<number, number>()
  return {
    add: (_e, ms) => bump(counts, indexOf(ms, r.bucket)),
    result: () => E.right(frequencyOfCounts(r.bucket, counts)),
  }
}
