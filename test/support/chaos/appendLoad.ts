import * as E from 'fp-ts/lib/Either.js'
import type { AllSourceClient, AllSourceError } from '../../../src/adapters/nats/service/client.js'

/** One acknowledged commit, as its reply gave it. */
export interface AckedCommit {
  readonly stream: string
  readonly commitId: string
  readonly fromVersion: number
  readonly toVersion: number
  readonly offset: number
  readonly duplicate: boolean
  /** When the first attempt of this commit was sent, and when its success came back (ms since epoch). */
  readonly startedAt: number
  readonly ackedAt: number
}

/** An answer that must never come: a 409 to a writer that is its stream's only writer, a version it did not ask for. */
export interface WrongAnswer {
  readonly stream: string
  readonly commitId: string
  readonly what: string
}

export interface AppendLoadOptions {
  readonly client: AllSourceClient
  readonly tenant: string
  readonly writers: number
  /** Streams each writer owns (and is the only writer of): `<prefix>-w<writer>-s<i>`. */
  readonly streamsPerWriter: number
  readonly prefix: string
  /** Commits per second per writer at most (absent: as fast as the answers come). */
  readonly ratePerWriter?: number
  /** The client's retry deadline per attempt round (the commit is retried after it, with the same commitId, until stop). */
  readonly deadlineMs?: number
  /** Per-request timeout (client default 10 s). */
  readonly timeoutMs?: number
}

export interface AppendLoad {
  readonly acked: readonly AckedCommit[]
  readonly wrong: readonly WrongAnswer[]
  /** Every failure answer seen (retried with the same commitId), by code, with the time it came. */
  readonly failures: readonly { readonly at: number; readonly code: string; readonly message: string }[]
  /** Appends tried per stream so far (the next commit's version is this + its event count). */
  versionOf(stream: string): number
  readonly streams: readonly string[]
  /**
   * Stops the writers after the commit each has in hand, which is retried until it is answered
   * (with its commitId: stored once whatever happened to earlier attempts). Resolves when all stopped.
   */
  stop(): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Events in the commit for version `v + 1`: 1 to 3, so multi-event commits are exercised too. */
const eventsFor = (w: number, stream: string, next: number) =>
  [...Array(1 + (next % 3)).keys()].map((j) => ({
    type: `chaos.t${(next + j) % 3}`,
    payload: { w, last: next + j, [`k${(next + j) % 5}`]: `${stream}:${next + j}` },
  }))

/**
 * A steady append load: `writers` concurrent writers, each the only writer of its streams, each
 * commit with a commitId (`<stream>-v<version>`) and the exact `expectedVersion`. A failure answer
 * is retried with the same commitId and expectedVersion until it succeeds, so every commit ends
 * acknowledged exactly once; an answer that contradicts that (a 409, a version not asked for) is
 * recorded as wrong. Nothing here asserts: the caller checks the log against `acked` and `wrong`.
 */
export const startAppendLoad = (o: AppendLoadOptions): AppendLoad => {
  const acked: AckedCommit[] = []
  const wrong: WrongAnswer[] = []
  const failures: { at: number; code: string; message: string }[] = []
  const versions = new Map<string, number>()
  const streams: string[] = []
  for (let w = 0; w < o.writers; w++) for (let s = 0; s < o.streamsPerWriter; s++) streams.push(`${o.prefix}-w${w}-s${s}`)
  let stopping = false

  const commit = async (w: number, stream: string): Promise<void> => {
    const version = versions.get(stream) ?? 0
    const events = eventsFor(w, stream, version + 1)
    const commitId = `${stream}-v${version + 1}`
    const startedAt = Date.now()
    for (;;) {
      const r = await o.client.tryAppend(o.tenant, stream, events, {
        expectedVersion: version,
        commitId,
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
        retry: { deadlineMs: o.deadlineMs ?? 30_000, maxDelayMs: 1_000, onRetry: (e: AllSourceError) => failures.push({ at: Date.now(), code: e.code, message: e.message }) },
      })
      if (E.isRight(r)) {
        const a = r.right
        if (a.fromVersion !== version + 1 || a.toVersion !== version + events.length) {
          wrong.push({ stream, commitId, what: `answered versions ${a.fromVersion}..${a.toVersion}, asked for ${version + 1}..${version + events.length}` })
        }
        acked.push({ stream, commitId, fromVersion: a.fromVersion, toVersion: a.toVersion, offset: a.offset, duplicate: a.duplicate === true, startedAt, ackedAt: Date.now() })
        versions.set(stream, a.toVersion)
        return
      }
      failures.push({ at: Date.now(), code: r.left.code, message: r.left.message })
      if (r.left.code !== 'UNAVAILABLE') {
        // The only writer of this stream, with this commit's exact expectedVersion: any refusal is wrong.
        wrong.push({ stream, commitId, what: `${r.left.code}: ${r.left.message} ${JSON.stringify(r.left.details)}` })
        const actual = r.left.details.actual
        if (r.left.code === 'WRONG_EXPECTED_VERSION' && typeof actual === 'number') {
          versions.set(stream, actual)
          return
        }
        await sleep(500)
      }
    }
  }

  const writer = async (w: number): Promise<void> => {
    const mine = streams.filter((s) => s.startsWith(`${o.prefix}-w${w}-`))
    const pause = o.ratePerWriter === undefined ? 0 : 1_000 / o.ratePerWriter
    for (let i = 0; !stopping; i++) {
      const t = Date.now()
      await commit(w, mine[i % mine.length] as string)
      const left = pause - (Date.now() - t)
      if (left > 0 && !stopping) await sleep(left)
    }
  }
  const running = Promise.all([...Array(o.writers).keys()].map(writer))
  return {
    acked,
    wrong,
    failures,
    streams,
    versionOf: (s) => versions.get(s) ?? 0,
    stop: async () => {
      stopping = true
      await running
    },
  }
}
