/** Subject names of the wire contract, under a configurable prefix (default `allsource`). */
export interface Subjects {
  readonly prefix: string
  /** `allsource.events.<tenant>.<stream>`: one subject per event stream. */
  events(tenant: string, stream: string): string
  eventsWildcard: string
  append(tenant: string, stream: string): string
  appendWildcard: string
  /** Tokens of a subject after the prefix and the verb (`tenant`, `stream`, …). */
  tail(subject: string, verb: string): string[]
}

export const defaultPrefix = 'allsource'

export const subjects = (prefix: string = defaultPrefix): Subjects => ({
  prefix,
  events: (tenant, stream) => `${prefix}.events.${tenant}.${stream}`,
  eventsWildcard: `${prefix}.events.>`,
  append: (tenant, stream) => `${prefix}.append.${tenant}.${stream}`,
  appendWildcard: `${prefix}.append.*.*`,
  tail: (subject, verb) => subject.slice(prefix.length + verb.length + 2).split('.'),
})
