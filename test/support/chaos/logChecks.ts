import { entityState, eventCounter } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectedEvent } from '../../../src/domain/projections/projection.js'
import type { AllSourceClient } from '../../../src/adapters/nats/service/client.js'
import type { LoggedCommit } from '../eventLogReader.js'
import type { AppendLoad } from './appendLoad.js'
import type { DurableReader } from './durableReader.js'

/** What the checks after a fault found; every list must be empty and every count 0. */
export interface Verdict {
  /** Acknowledged commits the log does not hold (or holds at another offset or versions). */
  readonly lost: readonly string[]
  /** Commit ids stored more than once, and stream versions stored more than once. */
  readonly duplicated: readonly string[]
  /** Streams whose versions, in offset order, are not 1..n. */
  readonly gaps: readonly string[]
  /** Answers that contradict the contract (a 409 to a stored retry, a version not asked for). */
  readonly wrongAnswers: readonly string[]
  /** Commits of this run the log holds that no writer saw acknowledged. */
  readonly unacknowledgedStored: readonly string[]
  /** Read-model keys whose state differs from the pure fold of the log. */
  readonly projectionMismatches: readonly string[]
  /** Where the durable subscriber's processed commits differ from the log (missing, extra, reordered). */
  readonly subscriberMismatches: readonly string[]
}

export const clean = (v: Verdict): boolean => Object.values(v).every((l: readonly string[]) => l.length === 0)

const eventsOf = (log: readonly LoggedCommit[], tenant: string): ProjectedEvent[] =>
  log
    .filter((c) => c.body.tenant === tenant)
    .flatMap((c) => c.body.events.map((e) => ({ ...e, tenant: c.body.tenant, stream: c.body.stream, offset: c.offset }) as unknown as ProjectedEvent))

const same = (a: unknown, b: unknown): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))
const sortKeys = (u: unknown): unknown =>
  u !== null && typeof u === 'object' && !Array.isArray(u)
    ? Object.fromEntries(Object.entries(u as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)]))
    : u

/**
 * Compares what the writers were told, what the log holds, what the read models hold and what the
 * durable subscriber processed. Deterministic: no clock, no threshold. `client` reads the
 * projections with `minOffset` = the log's last offset, so it waits (up to `waitMs`) for the fold
 * to get there rather than racing it.
 */
export const verify = async (o: {
  readonly log: readonly LoggedCommit[]
  readonly load: AppendLoad
  readonly tenant: string
  readonly client: AllSourceClient
  readonly reader?: DurableReader
  readonly waitMs?: number
}): Promise<Verdict> => {
  // The tenant's whole log feeds the read models and the subscriber; this load's streams are checked commit by commit.
  const all = o.log.filter((c) => c.body.tenant === o.tenant)
  const streams = new Set(o.load.streams)
  const mine = all.filter((c) => streams.has(c.body.stream))
  const byId = new Map<string, LoggedCommit[]>()
  for (const c of mine) byId.set(c.msgId, [...(byId.get(c.msgId) ?? []), c])
  const lost: string[] = []
  for (const a of o.load.acked) {
    const stored = byId.get(a.commitId)
    const first = stored?.[0]
    if (first === undefined) lost.push(`${a.commitId}: acknowledged at offset ${a.offset}, not in the log`)
    else if (first.offset !== a.offset || first.body.events[0]?.version !== a.fromVersion) lost.push(`${a.commitId}: acknowledged at offset ${a.offset} v${a.fromVersion}, stored at ${first.offset} v${first.body.events[0]?.version}`)
  }
  const duplicated = [...byId].filter(([, cs]) => cs.length > 1).map(([id, cs]) => `${id} stored ${cs.length} times (offsets ${cs.map((c) => c.offset).join(', ')})`)
  const ackedIds = new Set(o.load.acked.map((a) => a.commitId))
  const ackedTwice = o.load.acked.length - ackedIds.size
  if (ackedTwice > 0) duplicated.push(`${ackedTwice} commit ids acknowledged twice to the writers`)
  const gaps: string[] = []
  const versions = new Map<string, number[]>()
  for (const c of mine) versions.set(c.body.stream, [...(versions.get(c.body.stream) ?? []), ...c.body.events.map((e) => e.version)])
  for (const [stream, vs] of versions) {
    const bad = vs.findIndex((v, i) => v !== i + 1)
    if (bad >= 0) gaps.push(`${stream}: version ${vs[bad]} at position ${bad + 1}`)
  }
  const unacknowledgedStored = mine.filter((c) => !ackedIds.has(c.msgId)).map((c) => `${c.msgId} at offset ${c.offset}`)

  const projectionMismatches: string[] = []
  const events = eventsOf(o.log, o.tenant)
  const lastOffset = all.at(-1)?.offset ?? 0
  const waitMs = o.waitMs ?? 60_000
  const read = async (name: string, key: string): Promise<unknown> => {
    for (let until = Date.now() + waitMs; ; ) {
      try {
        return (await o.client.projection(o.tenant, name, key, { minOffset: lastOffset, waitMs: 5_000, timeoutMs: 10_000 })).state
      } catch (e) {
        if (Date.now() > until) return `unreadable: ${e instanceof Error ? e.message : String(e)}`
      }
    }
  }
  for (const [def, keys] of [
    [entityState, o.load.streams],
    [eventCounter, ['chaos.t0', 'chaos.t1', 'chaos.t2']],
  ] as const) {
    const expected = foldAll<unknown>(def as never, events)
    for (const key of keys) {
      const want = expected.get(`${o.tenant}.${key}`)
      if (want === undefined) continue
      const got = await read(def.name, key)
      if (!same(got, want)) projectionMismatches.push(`${def.name}/${key}: read ${JSON.stringify(got)}, fold of the log ${JSON.stringify(want)}`)
    }
  }

  const subscriberMismatches: string[] = []
  if (o.reader !== undefined) {
    const reader = o.reader
    for (let until = Date.now() + waitMs; reader.last() < lastOffset && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200))
    const got = reader.processed
    if (reader.outOfOrder > 0) subscriberMismatches.push(`${reader.outOfOrder} deliveries went back to an offset never processed`)
    const n = Math.max(got.length, all.length)
    for (let i = 0; i < n && subscriberMismatches.length < 20; i++) {
      const g = got[i]
      const c = all[i]
      const want = c === undefined ? undefined : { offset: c.offset, stream: c.body.stream, versions: c.body.events.map((e) => e.version) }
      if (!same(g, want)) subscriberMismatches.push(`#${i + 1}: processed ${JSON.stringify(g)}, log ${JSON.stringify(want)}`)
    }
  }
  return {
    lost,
    duplicated,
    gaps,
    wrongAnswers: o.load.wrong.map((w) => `${w.commitId}: ${w.what}`),
    unacknowledgedStored,
    projectionMismatches,
    subscriberMismatches,
  }
}
