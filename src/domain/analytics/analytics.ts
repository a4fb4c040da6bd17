import type { AnalyticsRequest } from './analyticsRequest.js'
import { anomaliesFold } from './anomalies.js'
import { correlationFold } from './correlation.js'
import type { AnalyticsFold, AnalyticsReply } from './fold.js'
import { frequencyFold } from './frequency.js'
import { funnelFold } from './funnel.js'
import { retentionFold } from './retention.js'
import { summaryFold } from './summary.js'

/** The fold that answers a request: feed it the events of the request's scope, in log order. */
export const analyticsFold = (r: AnalyticsRequest): AnalyticsFold<AnalyticsReply> => {
  switch (r.kind) {
    case 'frequency':
      return frequencyFold(r)
    case 'summary':
      return summaryFold(r)
    case 'funnel':
      return funnelFold(r)
    case 'retention':
      return retentionFold(r)
    case 'correlation':
      return correlationFold(r)
    case 'anomalies':
      return anomaliesFold(r)
    default: {
      const never: never = r
      return never
    }
  }
}
