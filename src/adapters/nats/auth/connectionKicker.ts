import type { NatsConnection } from '@nats-io/transport-node'

/** Disconnects live client connections of the application account, by the name the callout gave them. */
export interface ConnectionKicker {
  /**
   * Kicks every connection whose user is `<tenant>:…` (all keys of a tenant) or, with `principal`,
   * exactly `<tenant>:<principal>`. Resolves with how many were kicked. A kicked client that
   * reconnects goes through the callout again, which refuses a suspended tenant or a revoked key.
   * Best effort: a server that does not answer within `maxWaitMs` keeps its connections until
   * their grant expires.
   */
  kick(tenant: string, principal?: string): Promise<number>
}

interface ConnzReply {
  readonly server?: { readonly id?: string }
  readonly data?: { readonly connections?: readonly { readonly cid?: number; readonly authorized_user?: string }[] }
}

/** One live client connection as a server's CONNZ lists it: the server's id, its cid there, and its NATS user name (the callout's `<tenant>:<principal>`). */
export interface ListedConnection {
  readonly server: string
  readonly cid: number
  readonly user: string | undefined
}

const te = new TextEncoder()
const td = new TextDecoder()
const PAGE = 1024

/**
 * Lists every connection of `account` on every server that answers `$SYS.REQ.SERVER.PING.CONNZ`
 * within `maxWaitMs` (with auth details, paged by {@link PAGE}), calling `onPage` with each page's
 * connections. Replies that do not parse are skipped. Best effort: a server that does not answer
 * is missing from the listing.
 */
export const listConnections = async (
  sys: NatsConnection,
  account: string,
  onPage: (conns: readonly ListedConnection[]) => Promise<void> | void,
  maxWaitMs = 1_000,
): Promise<void> => {
  for (let offset = 0; ; offset += PAGE) {
    let full = false
    const replies = await sys.requestMany('$SYS.REQ.SERVER.PING.CONNZ', te.encode(JSON.stringify({ acc: account, auth: true, limit: PAGE, offset })), { maxWait: maxWaitMs })
    const page: ListedConnection[] = []
    for await (const m of replies) {
      let r: ConnzReply
      try {
        r = JSON.parse(td.decode(m.data)) as ConnzReply
      } catch {
        continue
      }
      const server = r.server?.id
      const conns = r.data?.connections ?? []
      if (conns.length >= PAGE) full = true
      if (server === undefined) continue
      for (const c of conns) if (c.cid !== undefined) page.push({ server, cid: c.cid, user: c.authorized_user })
    }
    await onPage(page)
    if (!full) return
  }
}

/**
 * A {@link ConnectionKicker} on a system-account connection: `$SYS.REQ.SERVER.PING.CONNZ`
 * (filtered to `account`, with auth details) collects every server's connections, then
 * `$SYS.REQ.SERVER.<id>.KICK` `{ cid }` closes each match. The callout names a tenant
 * connection's user `<tenant>:<principal>` (a keyId or `u_<username>`), and tenant ids and
 * principals hold no `:`, so a prefix match cannot catch another tenant.
 */
export const createConnectionKicker = (sys: NatsConnection, options: { readonly account: string; readonly maxWaitMs?: number }): ConnectionKicker => ({
  async kick(tenant, principal) {
    const wanted = (user: string | undefined): boolean => user !== undefined && (principal === undefined ? user.startsWith(`${tenant}:`) : user === `${tenant}:${principal}`)
    let kicked = 0
    await listConnections(
      sys,
      options.account,
      async (conns) => {
        for (const t of conns) {
          if (!wanted(t.user)) continue
          await sys.request(`$SYS.REQ.SERVER.${t.server}.KICK`, te.encode(JSON.stringify({ cid: t.cid })), { timeout: options.maxWaitMs ?? 1_000 }).then(
            () => kicked++,
            () => undefined,
          )
        }
      },
      options.maxWaitMs ?? 1_000,
    )
    return kicked
  },
})
