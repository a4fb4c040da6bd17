/**
 * Every NATS subject and subject filter of the wire contract (DESIGN.md, "Subjects"), under a
 * configurable prefix (default `allsource`). The one place subjects are built: adapters call these
 * builders rather than writing template strings. Builders do not validate their tokens; callers
 * pass ids already validated (an id never holds `.`, `*` or `>`).
 */
export interface Subjects {
  readonly prefix: string
  /** `allsource.events.<tenant>.<stream>`: one subject per event stream. */
  events(tenant: string, stream: string): string
  /** `allsource.events.<tenant>.<stream>` or, without a stream, `allsource.events.<tenant>.>`: one tenant's log. */
  eventsOf(tenant: string, stream?: string): string
  /** `allsource.events.<tenant>.`: what every subject of one tenant's log starts with. */
  eventsPrefixOf(tenant: string): string
  /** `allsource.events.>`: the whole log. */
  readonly eventsWildcard: string
  /** `allsource.append.<tenant>.<stream>`: append (request-reply). */
  append(tenant: string, stream: string): string
  /**
   * `allsource.routed.<tenant>.<stream>.<partition>`: where the server's partition mapping
   * ({@link Subjects.appendMapping}) delivers an append; clients keep publishing to {@link Subjects.append}.
   * The tenant stays the third token, as in every tenant subject (grants name it there).
   */
  routedAppend(tenant: string, stream: string, partition: number | '*'): string
  /** The tokens `[tenant, stream]` of a routed append subject (whatever the client sent after them), or undefined for another subject. */
  routedAppendTokens(subject: string): readonly string[] | undefined
  /**
   * The subject mapping that routes appends by partition, for the server configuration (per
   * account): `allsource.append.*.*` → `allsource.routed.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(n,1,2)}}`.
   */
  appendMapping(partitions: number): { readonly source: string; readonly destination: string }
  /** `allsource.read.<tenant>.<stream>`: read one stream (request-reply). */
  read(tenant: string, stream: string): string
  /** `allsource.query.<tenant>`: query the log (request-reply). */
  query(tenant: string): string
  /** `allsource.analytics.<tenant>.<kind>`: an analytics request (request-reply; docs/analytics.md). */
  analytics(tenant: string, kind: string): string
  /** `allsource.ingest.<tenant>.<stream>`: durable publish (stream `ALLSOURCE_INGEST`). */
  ingest(tenant: string, stream: string): string
  /** `allsource.ingest.>`: every ingest subject. */
  readonly ingestWildcard: string
  /** `allsource.dlq.<tenant>.<stream>`: a rejected ingest message (stream `ALLSOURCE_DLQ`). */
  dlq(tenant: string, stream: string): string
  /** `allsource.dlq.>`: every dead letter. */
  readonly dlqWildcard: string
  /** `allsource.dlq.<tenant>.>` or, without a tenant, `allsource.dlq.>`. */
  dlqOf(tenant?: string): string
  /** What follows `allsource.ingest.` in an ingest subject (`<tenant>.<stream>`, or whatever a client sent); undefined for another subject. */
  ingestTokens(subject: string): string | undefined
  /** The dead-letter subject of an ingest subject: `allsource.ingest.<rest>` → `allsource.dlq.<rest>`, tokens kept as sent. */
  dlqFor(ingestSubject: string): string
  /** The ingest subject a dead letter came from: `allsource.dlq.<rest>` → `allsource.ingest.<rest>`; undefined for another subject. */
  ingestFor(dlqSubject: string): string | undefined
  /** `allsource.projection.<tenant>.<projection>`: projection read (request-reply). */
  projection(tenant: string, projection: string): string
  /** `allsource.projections.<tenant>.<projection>.<key>`: a read-model change (publish/subscribe; a key may hold dots). */
  projectionTopic(tenant: string, projection: string, key: string): string
  /** `allsource.admin.projections`: every projection's last status (request-reply). */
  readonly adminProjections: string
  /** `allsource.admin.projection.<projection>.<command>`: `status|pause|resume|rebuild` (request-reply). */
  adminProjection(projection: string, command: string): string
  /** `allsource.admin.tenants.<command>`: `create|get|list|update|suspend|activate|delete` (request-reply, platform-wide). */
  adminTenants(command: string): string
  /** `allsource.admin.<tenant>.keys.<command>`: `create|list|revoke` (request-reply). */
  adminKeys(tenant: string, command: string): string
  /**
   * Where the key admin endpoint listens: `announced` `allsource.admin.*.keys.*`, `listen`
   * `allsource.admin.*.keys` and `allsource.admin.*.keys.>` (so a missing or dotted command is
   * still answered).
   */
  readonly adminKeysEndpoint: { readonly announced: string; readonly listen: readonly string[] }
  /** The tenant token and the tokens after `keys` of a subject under `allsource.admin.*.keys`; undefined for another subject. */
  adminKeysTokens(subject: string): { readonly tenant: string; readonly rest: readonly string[] } | undefined
  /**
   * `allsource.audit.tenant.<tenant>.<action tokens…>`, or `allsource.audit.platform.<action tokens…>`
   * for an entry with no tenant: one audit entry (stream `ALLSOURCE_AUDIT`). A fixed `tenant` /
   * `platform` token, so no tenant id (`_platform` is a valid one) can collide with the platform's.
   */
  audit(tenant: string | undefined, action: string): string
  /** `allsource.audit.>`: the whole audit log. */
  readonly auditWildcard: string
  /**
   * The subject filters selecting `action` (an action name, `<tokens>.>`, or `>` for every action)
   * among one tenant's entries, the platform's, or all of them.
   */
  auditFilters(scope: { readonly tenant: string } | 'platform' | 'all', action: string): readonly string[]
  /**
   * A request-reply endpoint `allsource.<verb>` taking `tokens` ids after it (the verb may hold dots,
   * e.g. `admin.projection`): `announced` is `allsource.<verb>.*…` (one `*` per token, for micro
   * discovery); `listen` is `allsource.<verb>.>` and `allsource.<verb>` (just `allsource.<verb>` when it
   * takes no token), so a request with the wrong number of tokens still reaches the endpoint;
   * `base` is `allsource.<verb>`.
   */
  endpoint(verb: string, tokens: number): { readonly base: string; readonly announced: string; readonly listen: readonly string[] }
}

export const defaultPrefix = 'allsource'

const buildSubjects = (prefix: string): Subjects => ({
  prefix,
  events: (tenant, stream) => `${prefix}.events.${tenant}.${stream}`,
  eventsOf: (tenant, stream) => `${prefix}.events.${tenant}.${stream ?? '>'}`,
  eventsPrefixOf: (tenant) => `${prefix}.events.${tenant}.`,
  eventsWildcard: `${prefix}.events.>`,
  append: (tenant, stream) => `${prefix}.append.${tenant}.${stream}`,
  routedAppend: (tenant, stream, partition) => `${prefix}.routed.${tenant}.${stream}.${partition}`,
  routedAppendTokens: (subject) => (subject.startsWith(`${prefix}.routed.`) ? subject.slice(`${prefix}.routed.`.length).split('.').slice(0, -1) : undefined),
  appendMapping: (partitions) => ({
    source: `${prefix}.append.*.*`,
    destination: `${prefix}.routed.{{wildcard(1)}}.{{wildcard(2)}}.{{partition(${partitions},1,2)}}`,
  }),
  read: (tenant, stream) => `${prefix}.read.${tenant}.${stream}`,
  query: (tenant) => `${prefix}.query.${tenant}`,
  analytics: (tenant, kind) => `${prefix}.analytics.${tenant}.${kind}`,
  ingest: (tenant, stream) => `${prefix}.ingest.${tenant}.${stream}`,
  ingestWildcard: `${prefix}.ingest.>`,
  dlq: (tenant, stream) => `${prefix}.dlq.${tenant}.${stream}`,
  dlqWildcard: `${prefix}.dlq.>`,
  dlqOf: (tenant) => (tenant === undefined ? `${prefix}.dlq.>` : `${prefix}.dlq.${tenant}.>`),
  ingestTokens: (subject) => (subject.startsWith(`${prefix}.ingest.`) ? subject.slice(`${prefix}.ingest.`.length) : undefined),
  dlqFor: (ingestSubject) => `${prefix}.dlq.${ingestSubject.startsWith(`${prefix}.ingest.`) ? ingestSubject.slice(`${prefix}.ingest.`.length) : ingestSubject}`,
  ingestFor: (dlqSubject) => (dlqSubject.startsWith(`${prefix}.dlq.`) ? `${prefix}.ingest.${dlqSubject.slice(`${prefix}.dlq.`.length)}` : undefined),
  projection: (tenant, projection) => `${prefix}.projection.${tenant}.${projection}`,
  projectionTopic: (tenant, projection, key) => `${prefix}.projections.${tenant}.${projection}.${key}`,
  adminProjections: `${prefix}.admin.projections`,
  adminProjection: (projection, command) => `${prefix}.admin.projection.${projection}.${command}`,
  adminTenants: (command) => `${prefix}.admin.tenants.${command}`,
  adminKeys: (tenant, command) => `${prefix}.admin.${tenant}.keys.${command}`,
  adminKeysEndpoint: { announced: `${prefix}.admin.*.keys.*`, listen: [`${prefix}.admin.*.keys`, `${prefix}.admin.*.keys.>`] },
  adminKeysTokens: (subject) => {
    const head = `${prefix}.admin.`
    if (!subject.startsWith(head)) return undefined
    const [tenant, keys, ...rest] = subject.slice(head.length).split('.')
    return tenant === undefined || keys !== 'keys' ? undefined : { tenant, rest }
  },
  audit: (tenant, action) => (tenant === undefined ? `${prefix}.audit.platform.${action}` : `${prefix}.audit.tenant.${tenant}.${action}`),
  auditWildcard: `${prefix}.audit.>`,
  auditFilters: (scope, action) =>
    scope === 'all'
      ? action === '>'
        ? [`${prefix}.audit.>`]
        : [`${prefix}.audit.tenant.*.${action}`, `${prefix}.audit.platform.${action}`]
      : scope === 'platform'
        ? [`${prefix}.audit.platform.${action}`]
        : [`${prefix}.audit.tenant.${scope.tenant}.${action}`],
  endpoint: (verb, tokens) => {
    const base = `${prefix}.${verb}`
    const announced = `${base}${'.*'.repeat(tokens)}`
    return { base, announced, listen: tokens === 0 ? [announced] : [`${base}.>`, base] }
  },
})

/** `$SRV.<verb>`, `$SRV.<verb>.<name>`, `$SRV.<verb>.<name>.<id>`: the NATS micro discovery subjects one service answers for a verb (`PING|INFO|STATS`). */
export const microDiscoverySubjects = (verb: string, name: string, id: string): readonly string[] => [`$SRV.${verb}`, `$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.${id}`]

/**
 * The contract subject a routed append came from: `<prefix>.routed.<tenant>.<stream>.<p>` →
 * `<prefix>.append.<tenant>.<stream>`; `subject` itself for any other. NATS names the mapped
 * subject when it refuses a mapped publish, so a requester matches refusals through this.
 */
export const unroutedSubject = (subject: string): string => {
  const t = subject.split('.')
  return t.length === 5 && t[1] === 'routed' ? `${t[0]}.append.${t[2]}.${t[3]}` : subject
}

/** `$KV.<bucket>.<key>`: the subject a KV entry is stored under (for publishing entries directly). */
export const kvSubject = (bucket: string, key: string): string => `$KV.${bucket}.${key}`

const built = new Map<string, Subjects>()

/** The subjects under `prefix`; built once per prefix, so hot paths may call it per message. */
export const subjects = (prefix: string = defaultPrefix): Subjects => {
  let s = built.get(prefix)
  if (s === undefined) built.set(prefix, (s = buildSubjects(prefix)))
  return s
}
