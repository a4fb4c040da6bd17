import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream'

/** Streams AllSource owns: its own (`ALLSOURCE_…`) and its KV buckets (`KV_ALLSOURCE_…`). */
export const isAllSourceStream = (name: string): boolean => name.startsWith('ALLSOURCE_') || name.startsWith('KV_ALLSOURCE_')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Waits until `stream` has a leader and `replicas − 1` followers that are current: consumers made
 * on a stream still moving to its new peers can sit without deliveries until their pull expires.
 */
const settled = async (jsm: JetStreamManager, stream: string, replicas: number, timeoutMs = 15_000): Promise<void> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const c = (await jsm.streams.info(stream)).cluster
    const followers = c?.replicas ?? []
    if (c?.leader !== undefined && followers.length === replicas - 1 && followers.every((p) => p.current && !p.offline)) return
    if (Date.now() > until) throw new Error(`the new replicas were not in step after ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** What {@link raiseReplicas} did to one stream. */
export type ReplicaChange =
  | { readonly _tag: 'Raised'; readonly stream: string; readonly from: number; readonly to: number; readonly inStep: boolean }
  | { readonly _tag: 'Failed'; readonly stream: string; readonly from: number; readonly to: number; readonly reason: string }

/**
 * Brings every AllSource stream and KV bucket (see {@link isAllSourceStream}) that has fewer than
 * `replicas` replicas up to `replicas`, in place (JetStream copies the data to the new peers;
 * nothing is lost and the stream stays usable meanwhile). A stream with more replicas is left as it
 * is: lowering the replica count is an operator's decision. Each raise waits (up to 15 s) until the
 * new peers are in step. A stream JetStream refuses to change (too few nodes) is reported as
 * `Failed` and left as it was: the processor still runs, with less redundancy than configured.
 * Resolves with what changed (nothing at R1).
 */
export const raiseReplicas = async (jsm: JetStreamManager, replicas: number): Promise<readonly ReplicaChange[]> => {
  if (replicas <= 1) return []
  const below: StreamInfo[] = []
  for await (const info of jsm.streams.list()) {
    if (isAllSourceStream(info.config.name) && (info.config.num_replicas ?? 1) < replicas && info.config.mirror === undefined) below.push(info)
  }
  const changes: ReplicaChange[] = []
  for (const info of below) {
    const from = info.config.num_replicas ?? 1
    try {
      await jsm.streams.update(info.config.name, { ...info.config, num_replicas: replicas })
      const inStep = await settled(jsm, info.config.name, replicas).then(
        () => true,
        () => false, // raised all the same; the new peers go on catching up
      )
      changes.push({ _tag: 'Raised', stream: info.config.name, from, to: replicas, inStep })
    } catch (e) {
      changes.push({ _tag: 'Failed', stream: info.config.name, from, to: replicas, reason: e instanceof Error ? e.message : String(e) })
    }
  }
  return changes
}

/** One log line per change: what was raised, or why it could not be. */
export const describeReplicaChange = (c: ReplicaChange): string =>
  c._tag === 'Raised'
    ? `stream ${c.stream}: replicas raised from ${c.from} to ${c.to} (ALLSOURCE_REPLICAS)${c.inStep ? '' : '; the new replicas are still catching up'}`
    : `stream ${c.stream} stays at ${c.from} replica${c.from === 1 ? '' : 's'}, below ALLSOURCE_REPLICAS=${c.to}: JetStream refused the change (${c.reason})`
