import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type ListedConnection, listConnections } from './connectionKicker.js'

/** Live connections per tenant of the application account, as the servers report them. */
export interface ConnectionCounter {
  /** How many connections `tenant` holds now, as far as the events received so far tell. */
  live(tenant: string): number
  /** Replaces the counts with a fresh CONNZ listing (plus the events that arrive meanwhile). Resolves when done; never rejects. */
  resync(): Promise<void>
  stop(): void
}

/** The part of a `$SYS.ACCOUNT.<acc>.CONNECT` / `.DISCONNECT` event the counter reads (nats-server `ConnectEventMsg`, `DisconnectEventMsg`). */
const ClientEvent = t.type({
  server: t.type({ id: t.string }),
  client: t.intersection([t.type({ id: t.number }), t.partial({ user: t.string })]),
})

const td = new TextDecoder()

/** `<tenant>:<principal>` → tenant; any other user name (the processor's nkey, …) → undefined. */
const tenantOf = (user: string | undefined): string | undefined => {
  const i = user?.indexOf(':') ?? -1
  return user !== undefined && i > 0 ? user.slice(0, i) : undefined
}

/**
 * A {@link ConnectionCounter} on a system-account connection `sys`: subscribes to
 * `$SYS.ACCOUNT.<account>.CONNECT` and `.DISCONNECT` (every server of the cluster publishes them
 * for its clients; the event names the client's user, which the callout sets to
 * `<tenant>:<principal>`), then seeds the counts with one CONNZ listing ({@link listConnections}).
 * A connection is keyed by its server's id and its cid, so a connection both listed and announced
 * counts once, and a disconnect that overtakes the listing is not counted back in.
 *
 * Guarantees and limits:
 * - counts only users named `<tenant>:…`; `skip(user)` true (the operator's connections) is never counted;
 * - the count is eventually consistent: a connection counts from its CONNECT event, which the
 *   server sends after the callout granted it, so connects granted at the same moment each see
 *   the count before the others (the quota can be exceeded by the connects in flight);
 * - events lost while `sys` was disconnected, or a server that died without announcing its
 *   clients' disconnects, are corrected at the next {@link ConnectionCounter.resync}: after each
 *   reconnect of `sys`, and every `resyncMs` (default 60 s);
 * - a malformed event is ignored.
 * Every processor counts every server's events, so the count is per cluster, not per processor.
 */
export const createConnectionCounter = async (
  sys: NatsConnection,
  options: { readonly account: string; readonly skip?: (user: string) => boolean; readonly resyncMs?: number; readonly onError?: (e: unknown) => void },
): Promise<ConnectionCounter> => {
  /** Connection key (`<server>/<cid>`) → tenant. */
  let conns = new Map<string, string>()
  const counts = new Map<string, number>()
  /** During a resync: what the events said meanwhile, applied over the listing. */
  let pending: Map<string, string | undefined> | undefined
  let stopped = false

  const add = (key: string, tenant: string): void => {
    if (conns.has(key)) return
    conns.set(key, tenant)
    counts.set(tenant, (counts.get(tenant) ?? 0) + 1)
  }
  const remove = (key: string): void => {
    const tenant = conns.get(key)
    if (tenant === undefined) return
    conns.delete(key)
    const n = (counts.get(tenant) ?? 1) - 1
    if (n <= 0) counts.delete(tenant)
    else counts.set(tenant, n)
  }
  const counted = (user: string | undefined): string | undefined => (user === undefined || options.skip?.(user) === true ? undefined : tenantOf(user))

  const onEvent = (connected: boolean) => (_err: unknown, m: { data: Uint8Array }) => {
    let raw: unknown
    try {
      raw = JSON.parse(td.decode(m.data))
    } catch {
      return
    }
    const d = ClientEvent.decode(raw)
    if (E.isLeft(d)) return
    const key = `${d.right.server.id}/${d.right.client.id}`
    const tenant = counted(d.right.client.user)
    if (tenant === undefined) return
    pending?.set(key, connected ? tenant : undefined)
    if (connected) add(key, tenant)
    else remove(key)
  }
  const subs: Subscription[] = [
    sys.subscribe(`$SYS.ACCOUNT.${options.account}.CONNECT`, { callback: onEvent(true) }),
    sys.subscribe(`$SYS.ACCOUNT.${options.account}.DISCONNECT`, { callback: onEvent(false) }),
  ]
  await sys.flush()

  let running: Promise<void> | undefined
  const resyncOnce = async (): Promise<void> => {
    const seen = new Map<string, string | undefined>()
    pending = seen
    const listed: ListedConnection[] = []
    try {
      await listConnections(sys, options.account, (page) => {
        listed.push(...page)
      })
    } catch (e) {
      options.onError?.(e)
      return
    } finally {
      pending = undefined
    }
    // The listing, then every event that arrived while it was taken (newer than the listing).
    conns = new Map()
    counts.clear()
    for (const c of listed) {
      const tenant = counted(c.user)
      if (tenant !== undefined) add(`${c.server}/${c.cid}`, tenant)
    }
    for (const [key, tenant] of seen) {
      if (tenant === undefined) remove(key)
      else add(key, tenant)
    }
  }
  const resync = (): Promise<void> => {
    running ??= resyncOnce().finally(() => {
      running = undefined
    })
    return running
  }
  await resync()

  const timer = setInterval(() => {
    resync().catch(() => undefined)
  }, options.resyncMs ?? 60_000)
  timer.unref()
  void (async () => {
    for await (const s of sys.status()) {
      if (stopped) return
      if (s.type === 'reconnect') resync().catch(() => undefined)
    }
  })().catch(() => undefined)

  return {
    live: (tenant) => counts.get(tenant) ?? 0,
    resync,
    stop() {
      stopped = true
      clearInterval(timer)
      for (const s of subs) s.unsubscribe()
    },
  }
}
