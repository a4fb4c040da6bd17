import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of one nats-server's cluster (route) port, that a test can cut. Every node
 * of a chaos cluster advertises its proxy as its route address, and every node's `routes` name the
 * proxies, so every route connection, in either direction, passes through exactly one proxy.
 *
 * Cutting node `k` off must also stop the connections node `k` makes to the others' proxies. A
 * route connection's two ends each send an INFO line naming their server (`"name":"n1"`); the proxy
 * reads the first bytes of both directions and knows which two nodes each connection joins, so
 * {@link RouteProxy.isolate} can close exactly those of node `k` and refuse new ones until
 * {@link RouteProxy.heal}. No root, no network namespace, nothing outside this process.
 */
export interface RouteProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number
  /** Closes every connection that involves one of `names` (server names) and refuses new ones. */
  isolate(names: ReadonlySet<string>): void
  heal(): void
  /** Route connections open now, with the nodes they were seen to join. */
  connections(): readonly { readonly nodes: readonly string[] }[]
  close(): Promise<void>
}

/** The server name in a route INFO line (later INFO lines gossip about other servers: only the first counts). */
const INFO_NAME_RE = /^INFO \{[^\n]*?"server_name":"([^"]+)"/m
/** Bytes of each direction read, at most, to find its first INFO line. */
const SNIFF_BYTES = 16_384

interface Piped {
  readonly client: Socket
  readonly upstream: Socket
  readonly nodes: Set<string>
  /** The first bytes of each direction until its INFO line was read (undefined once it was). */
  head: [string | undefined, string | undefined]
}

/** Listens on a free 127.0.0.1 port and forwards every connection to `127.0.0.1:targetPort`. */
export const startRouteProxy = async (targetPort: number, ownerName: string): Promise<RouteProxy> => {
  const open = new Set<Piped>()
  let isolated: ReadonlySet<string> = new Set()
  const cutIfIsolated = (p: Piped): void => {
    for (const n of p.nodes) {
      if (isolated.has(n)) {
        p.client.destroy()
        p.upstream.destroy()
        open.delete(p)
        return
      }
    }
  }
  const sniff = (p: Piped, direction: 0 | 1, chunk: Buffer): void => {
    const before = p.head[direction]
    if (before === undefined) return
    const head = before + chunk.toString('latin1')
    const name = INFO_NAME_RE.exec(head)?.[1]
    if (name !== undefined || head.length > SNIFF_BYTES) {
      p.head[direction] = undefined
      if (name !== undefined) p.nodes.add(name)
      cutIfIsolated(p)
    } else p.head[direction] = head
  }
  const server: Server = createServer((client) => {
    if (isolated.has(ownerName)) {
      client.destroy()
      return
    }
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort })
    const p: Piped = { client, upstream, nodes: new Set([ownerName]), head: ['', ''] }
    open.add(p)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      open.delete(p)
    }
    client.on('data', (d: Buffer) => {
      sniff(p, 0, d)
      if (!upstream.destroyed && !upstream.write(d)) client.pause()
    })
    upstream.on('data', (d: Buffer) => {
      sniff(p, 1, d)
      if (!client.destroyed && !client.write(d)) upstream.pause()
    })
    upstream.on('drain', () => client.resume())
    client.on('drain', () => upstream.resume())
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
  })
  await new Promise<void>((res, rej) => {
    server.once('error', rej)
    server.listen(0, '127.0.0.1', () => res())
  })
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('route proxy: no port')
  return {
    port: address.port,
    isolate(names) {
      isolated = names
      for (const p of [...open]) cutIfIsolated(p)
    },
    heal() {
      isolated = new Set()
    },
    connections: () => [...open].map((p) => ({ nodes: [...p.nodes] })),
    close: async () => {
      for (const p of open) {
        p.client.destroy()
        p.upstream.destroy()
      }
      open.clear()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
