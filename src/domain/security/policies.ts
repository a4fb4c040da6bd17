import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { AppendCommand } from '../streams/appendRequest.js'
import { type DomainError, badRequest, forbidden } from '../streams/errors.js'
import { type StreamId, type TenantId, TenantId as TenantIdCodec, categoryOf } from '../streams/ids.js'
import { type CompiledGlob, compileGlob, globProblem, matchGlob } from './glob.js'
import { Role } from './roles.js'
import { boundedArray, boundedInt, checkedString, closedObject, describeFailure, oneOrMany } from './ruleCodecs.js'

/**
 * Policies (issue 11 item 7): a tenant's allow / deny / warn rules, checked before every append.
 * Pure data and a pure evaluation; storage and the append path's cache live outside the domain.
 *
 * A rule `{ id, effect, match, description?, priority? }` matches an event of an append when every
 * condition in `match` holds (an empty `match` matches everything):
 * - `eventType`: a glob (see `glob.ts`: `*` is any run of characters, nothing else is special) or
 *   a list of globs, any of which may match the event's type;
 * - `category`: the stream's category, i.e. its id up to the first `-` (`order-42` → `order`, an
 *   id without `-` is its own category; EventStoreDB's convention), exact, or a list;
 * - `tenant`: the tenant's id, or a list (rules are stored per tenant, so this matters only for a
 *   rule set shared between tenants);
 * - `role`: the appending identity's role (`operator` included), or a list;
 * - `payloadBytes`: `{ min?, max? }`, inclusive bounds on the size of the event's payload as the
 *   log stores it (its msgpack encoding; the caller measures it).
 *
 * Evaluation order (one total order, so the list's order never matters):
 * 1. higher `priority` first (an integer from -1,000,000 to 1,000,000, default 0);
 * 2. at equal priority `deny` before `warn` before `allow` (deny beats allow);
 * 3. then by `id` (code-unit order), so the answer is deterministic even for equal rules.
 * The first rule in that order that matches an event decides for that event: `deny` refuses it,
 * `warn` lets it through and says so, `allow` lets it through (an allow at a higher priority is
 * how an exception to a deny is written). No matching rule: allowed.
 *
 * An append of several events is decided over all of them: denied if any event is denied (the
 * first denied event by index is named with its rule), else `warn` if any event is warned (the
 * first), else allowed. One denied event refuses the whole commit, which is atomic.
 */

/** Most rules one tenant may hold. */
export const MAX_RULES_PER_TENANT = 100
/** Most values in one list condition (`eventType: [...]`, `role: [...]`, …). */
export const MAX_ALTERNATIVES = 16
/** Bounds of `priority`. */
export const MAX_PRIORITY = 1_000_000
export const MAX_DESCRIPTION_LENGTH = 500

const RULE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/
const CATEGORY_RE = /^[A-Za-z0-9_=]{1,200}$/
const CONTROL_RE = /[\u0000-\u001f\u007f]/

/** A rule's id: 1–64 characters of `A–Z a–z 0–9 _ -`, unique within the tenant's rules. */
export const RuleId = checkedString('RuleId', (s) => (RULE_ID_RE.test(s) ? undefined : 'must be 1–64 characters of A–Z a–z 0–9 _ -'))

export const Effect = checkedString<'allow' | 'deny' | 'warn'>('Effect', (s) =>
  s === 'allow' || s === 'deny' || s === 'warn' ? undefined : 'must be "allow", "deny" or "warn"',
)
export type Effect = t.TypeOf<typeof Effect>

/** An event-type glob (`glob.ts`). */
export const EventTypeGlob = checkedString('EventTypeGlob', globProblem)

/** A stream category: 1–200 characters of `A–Z a–z 0–9 _ =` (a stream id's alphabet without `-`). */
export const Category = checkedString('Category', (s) =>
  s.length <= 200 && CATEGORY_RE.test(s) ? undefined : 'must be 1–200 characters of A–Z a–z 0–9 _ = (the part of a stream id before its first -)',
)

const MatchTenant = checkedString<TenantId>('TenantId', (s) => (TenantIdCodec.is(s) ? undefined : 'must be a tenant id: 1–64 characters of A–Z a–z 0–9 _ -'))
const MatchRole = checkedString<Role>('Role', (s) => (Role.is(s) ? undefined : `must be one of ${Object.keys(Role.keys).join(', ')}`))

const Bytes = boundedInt('Bytes', 0, Number.MAX_SAFE_INTEGER)

/** Inclusive bounds on an event's encoded payload size, in bytes; at least one, and `min ≤ max`. */
export const PayloadBytes = closedObject('PayloadBytes', {}, { min: Bytes, max: Bytes }, (r) => {
  if (r.min === undefined && r.max === undefined) return 'must give min, max or both'
  return r.min !== undefined && r.max !== undefined && r.min > r.max ? `min (${r.min}) must not exceed max (${r.max})` : undefined
})
export type PayloadBytes = t.TypeOf<typeof PayloadBytes>

/** The conditions of a rule; all given ones must hold. No other field is accepted. */
export const PolicyMatch = closedObject(
  'PolicyMatch',
  {},
  {
    eventType: oneOrMany(EventTypeGlob, MAX_ALTERNATIVES),
    category: oneOrMany(Category, MAX_ALTERNATIVES),
    tenant: oneOrMany(MatchTenant, MAX_ALTERNATIVES),
    role: oneOrMany(MatchRole, MAX_ALTERNATIVES),
    payloadBytes: PayloadBytes,
  },
)
export type PolicyMatch = t.TypeOf<typeof PolicyMatch>

const Description = checkedString('Description', (s) =>
  s.length <= MAX_DESCRIPTION_LENGTH && !CONTROL_RE.test(s) ? undefined : `must be at most ${MAX_DESCRIPTION_LENGTH} characters, without control characters`,
)

/** One rule, as created, stored and listed. Decoding never transforms a valid rule. */
export const PolicyRule = closedObject(
  'PolicyRule',
  { id: RuleId, effect: Effect, match: PolicyMatch },
  { description: Description, priority: boundedInt('Priority', -MAX_PRIORITY, MAX_PRIORITY) },
)
export type PolicyRule = t.TypeOf<typeof PolicyRule>

const duplicateId = (rules: readonly PolicyRule[]): string | undefined => {
  const seen = new Set<string>()
  for (const r of rules) {
    if (seen.has(r.id)) return r.id
    seen.add(r.id)
  }
  return undefined
}

/** A tenant's rules as stored: at most {@link MAX_RULES_PER_TENANT}, ids unique. */
export const PolicySet = closedObject('PolicySet', { rules: boundedArray(PolicyRule, MAX_RULES_PER_TENANT) }, {}, (s) => {
  const dup = duplicateId(s.rules)
  return dup === undefined ? undefined : `hold the rule id "${dup}" twice`
})
export type PolicySet = t.TypeOf<typeof PolicySet>

/** Validates a rule from a request; the first problem is a `BadRequest` naming its path (`rule.match.eventType[1] …`). */
export const validateRule = (u: unknown): E.Either<DomainError, PolicyRule> =>
  E.mapLeft((errors: t.Errors) => {
    const { path, message } = describeFailure(errors, 'rule')
    return badRequest(message, { path })
  })(PolicyRule.decode(u))

/** The result of an evaluation: the dry-run `evaluate` request's answer. */
export const PolicyResult = t.readonly(
  t.intersection([
    t.type({ decision: t.keyof({ allow: null, deny: null, warn: null }), reason: t.string }),
    t.partial({ rule: t.string, event: t.number }),
  ]),
  'PolicyResult',
)
export type PolicyResult = t.TypeOf<typeof PolicyResult>

/** One event of a request, as far as policies look at it. */
export interface PolicyEvent {
  readonly type: string
  /** Size of the encoded payload, in bytes. */
  readonly payloadBytes: number
}

/** What a policy decision is about: who appends what, where. */
export interface PolicyRequest {
  readonly tenant: TenantId
  readonly stream: StreamId
  readonly role: Role
  readonly events: readonly PolicyEvent[]
}

/** The request for an append command, measuring each payload with `payloadBytes` (the log's encoding). */
export const policyRequestOf = (command: AppendCommand, role: Role, payloadBytes: (payload: unknown) => number): PolicyRequest => ({
  tenant: command.tenant,
  stream: command.stream,
  role,
  events: command.events.map((e) => ({ type: e.type, payloadBytes: payloadBytes(e.payload) })),
})

interface CompiledRule {
  readonly rule: PolicyRule
  readonly priority: number
  readonly types: readonly CompiledGlob[] | undefined
  readonly categories: ReadonlySet<string> | undefined
  readonly tenants: ReadonlySet<string> | undefined
  readonly roles: ReadonlySet<string> | undefined
  readonly min: number
  readonly max: number
}

/** Rules prepared for evaluation (globs split, lists as sets), in evaluation order. Build once per rule-set change. */
export interface CompiledPolicies {
  readonly _tag: 'CompiledPolicies'
  readonly rules: readonly CompiledRule[]
}

const effectRank = (e: Effect): number => {
  switch (e) {
    case 'deny':
      return 0
    case 'warn':
      return 1
    case 'allow':
      return 2
    default: {
      const never: never = e
      return never
    }
  }
}

const listOf = <A>(v: A | readonly A[] | undefined): readonly A[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? (v as readonly A[]) : [v as A]

const setOf = (v: string | readonly string[] | undefined): ReadonlySet<string> | undefined => {
  const l = listOf(v)
  return l === undefined ? undefined : new Set(l)
}

/** The evaluation order: priority descending, then deny, warn, allow, then id. */
export const compareRules = (a: PolicyRule, b: PolicyRule): number =>
  (b.priority ?? 0) - (a.priority ?? 0) || effectRank(a.effect) - effectRank(b.effect) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The rules in evaluation order (how `policies.list` answers them). */
export const orderRules = (rules: readonly PolicyRule[]): readonly PolicyRule[] => [...rules].sort(compareRules)

export const compilePolicies = (rules: readonly PolicyRule[]): CompiledPolicies => ({
  _tag: 'CompiledPolicies',
  rules: orderRules(rules).map((rule) => ({
    rule,
    priority: rule.priority ?? 0,
    types: listOf(rule.match.eventType)?.map(compileGlob),
    categories: setOf(rule.match.category),
    tenants: setOf(rule.match.tenant),
    roles: setOf(rule.match.role),
    min: rule.match.payloadBytes?.min ?? 0,
    max: rule.match.payloadBytes?.max ?? Number.POSITIVE_INFINITY,
  })),
})

const described = (r: PolicyRule): string => `rule "${r.id}"${r.description !== undefined ? ` (${r.description})` : ''}`

const eventResult = (rule: PolicyRule | undefined, index: number, type: string): PolicyResult => {
  const what = `event ${index} (${type})`
  if (rule === undefined) return { decision: 'allow', reason: `no rule matches ${what}: allowed by default` }
  switch (rule.effect) {
    case 'deny':
      return { decision: 'deny', rule: rule.id, event: index, reason: `${what} is denied by ${described(rule)}` }
    case 'warn':
      return { decision: 'warn', rule: rule.id, event: index, reason: `${what} is allowed with a warning by ${described(rule)}` }
    case 'allow':
      return { decision: 'allow', rule: rule.id, event: index, reason: `${what} is allowed by ${described(rule)}` }
    default: {
      const never: never = rule.effect
      return never
    }
  }
}

const isCompiled = (p: CompiledPolicies | readonly PolicyRule[]): p is CompiledPolicies => !Array.isArray(p)

/**
 * Decides `request` under `policies` (rules, or rules compiled once with {@link compilePolicies}).
 *
 * Guarantees: total and pure (no clock, no I/O, never throws); the answer depends only on the
 * set of rules, not on their order in the list (ties are broken by effect, then id); a matching
 * deny at a priority no matching allow or warn exceeds always denies; with several events, any
 * denied event denies the whole request, naming the first such event (`event`, its index) and
 * its rule; no matching rule allows. Cost: rules independent of the event (tenant, role,
 * category) are filtered once; each distinct event type is tested against each glob once; then
 * each event costs at most one size comparison per remaining rule.
 */
export const evaluate = (policies: CompiledPolicies | readonly PolicyRule[], request: PolicyRequest): PolicyResult => {
  const compiled = isCompiled(policies) ? policies : compilePolicies(policies)
  const category = categoryOf(request.stream)
  const applicable = compiled.rules.filter(
    (r) =>
      (r.tenants === undefined || r.tenants.has(request.tenant)) &&
      (r.roles === undefined || r.roles.has(request.role)) &&
      (r.categories === undefined || r.categories.has(category)),
  )
  const byType = new Map<string, readonly CompiledRule[]>()
  let first: PolicyResult | undefined
  let warned: PolicyResult | undefined
  for (let i = 0; i < request.events.length; i++) {
    const ev = request.events[i] as PolicyEvent
    let candidates = byType.get(ev.type)
    if (candidates === undefined) {
      candidates = applicable.filter((r) => r.types === undefined || r.types.some((g) => matchGlob(g, ev.type)))
      byType.set(ev.type, candidates)
    }
    const hit = candidates.find((r) => ev.payloadBytes >= r.min && ev.payloadBytes <= r.max)
    const result = eventResult(hit?.rule, i, ev.type)
    if (result.decision === 'deny') return result
    if (result.decision === 'warn') warned ??= result
    first ??= result
  }
  return warned ?? first ?? { decision: 'allow', reason: 'no events: allowed by default' }
}

/** A deny as the append's error: `Forbidden` with `reason: 'policy'`, the rule and the event index. */
export const policyDenied = (result: PolicyResult): DomainError =>
  forbidden('policy', result.reason, {
    operation: 'append',
    ...(result.rule !== undefined ? { rule: result.rule } : {}),
    ...(result.event !== undefined ? { event: result.event } : {}),
  })

/** `Right` with the result when the request may go ahead (allow or warn), `Left` `Forbidden` on a deny. */
export const enforce = (policies: CompiledPolicies | readonly PolicyRule[], request: PolicyRequest): E.Either<DomainError, PolicyResult> => {
  const result = evaluate(policies, request)
  return result.decision === 'deny' ? E.left(policyDenied(result)) : E.right(result)
}
