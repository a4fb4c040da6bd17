/** Subject names of the wire contract, under a configurable prefix (default `allsource`). */
export interface Subjects {
  readonly prefix: string
  /** `allsource.events.<tenant>.<stream>`: one subject per event stream. */
  events(tenant: string, stream: string): string
  /** `allsource.events.>`: the whole log. */
  readonly eventsWildcard: string
}

export const defaultPrefix = 'allsource'

export const subjects = (prefix: string = defaultPrefix): Subjects => ({
  prefix,
  events: (tenant, stream) => `${prefix}.events.${tenant}.${stream}`,
  eventsWildcard: `${prefix}.events.>`,
})
