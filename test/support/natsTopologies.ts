import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { localNatsServerPath, projectRoot } from '../../src/main/natsServer/findNatsServer.js'
import { freePort, launchNatsServer, type RunningNatsServer } from '../../src/main/natsServer/launchNatsServer.js'
import { type RouteProxy, startRouteProxy } from './chaos/routeProxy.js'

/** The project-local nats-server 2.10 (`npm run nats-server -- --with-2.10`), kept for compatibility tests. */
export const natsServer210Path = (): string => join(projectRoot(), '.nats-server-2.10', 'usr', 'sbin', 'nats-server')

/** Test servers of one topology: their client URLs, and stops by PID for what was started here only. */
export interface NatsTopology {
  readonly name: string
  /** Client URLs of every node (one for R1). */
  readonly urls: readonly string[]
  /** Stream replicas this topology supports (1 or 3). */
  readonly replicas: number
  readonly nodes: readonly RunningNatsServer[]
  /** With `routeProxies`: node `i`'s route proxy, through which every route connection of node `i` passes. */
  readonly proxies?: readonly RouteProxy[]
  /**
   * Starts node `i` again (after a kill or stop) with its config, ports and store, and puts it in
   * `nodes[i]`; resolves once it answers (clusters only).
   */
  restart?(i: number): Promise<RunningNatsServer>
  /** Stops every node and removes the temp dir. */
  stop(): Promise<void>
}

/** One nats-server (R1) from `binary`, on a free port with its own temp store. */
export const startSingle = async (name: string, binary: string): Promise<NatsTopology> => {
  const dir = await mkdtemp(join(tmpdir(), 'allsource-test-'))
  try {
    const node = await launchNatsServer({ binary, port: 0, storeDir: join(dir, 'store') })
    return {
      name,
      urls: [node.url],
      replicas: 1,
      nodes: [node],
      stop: async () => {
        await node.stop()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
}

export interface ClusterOptions {
  /**
   * Put a {@link RouteProxy} in front of each node's route port, advertise it as the node's route
   * address and name the proxies in `routes`, so a test can cut a node off from the others
   * (`proxies[i].isolate(...)`) without root.
   */
  readonly routeProxies?: boolean
  /** Configuration text added to every node's file (e.g. `jetstream { max_file_store: 64MB }`). */
  readonly extraConfig?: string
}

/**
 * A 3-node JetStream cluster from `binary` on 127.0.0.1: free client and route ports, one temp
 * dir (each node's config and store below it), routes between all three. The nodes start at
 * once (JetStream is ready only once a meta leader is elected, which needs two of them).
 */
export const startCluster = async (name: string, binary: string, size = 3, options: ClusterOptions = {}): Promise<NatsTopology> => {
  const dir = await mkdtemp(join(tmpdir(), 'allsource-test-'))
  const started: RunningNatsServer[] = []
  const proxies: RouteProxy[] = []
  try {
    const clientPorts: number[] = []
    const routePorts: number[] = []
    for (let i = 0; i < size; i++) {
      clientPorts.push(await freePort())
      routePorts.push(await freePort())
    }
    if (options.routeProxies === true) for (let i = 0; i < size; i++) proxies.push(await startRouteProxy(routePorts[i] as number, `n${i}`))
    const reachAt = (i: number): number => proxies[i]?.port ?? (routePorts[i] as number)
    const routes = routePorts.map((_, i) => `nats-route://127.0.0.1:${reachAt(i)}`).join(', ')
    const configs = await Promise.all(
      routePorts.map(async (routePort, i) => {
        const file = join(dir, `n${i}.conf`)
        const advertise = proxies[i] === undefined ? '' : `, advertise: "127.0.0.1:${reachAt(i)}"`
        await writeFile(
          file,
          [
            `server_name: n${i}`,
            `cluster { name: allsource-test, listen: "127.0.0.1:${routePort}"${advertise}, routes: [${routes}] }`,
            options.extraConfig ?? '',
            '',
          ].join('\n'),
        )
        return file
      }),
    )
    const launch = (i: number) => launchNatsServer({ binary, configFile: configs[i] as string, port: clientPorts[i] as number, storeDir: join(dir, `store-${i}`), startTimeoutMs: 20_000 })
    const launched = await Promise.allSettled(configs.map((_, i) => launch(i)))
    for (const l of launched) if (l.status === 'fulfilled') started.push(l.value)
    const failed = launched.find((l): l is PromiseRejectedResult => l.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    return {
      name,
      urls: started.map((n) => n.url),
      replicas: 3,
      nodes: started,
      ...(proxies.length > 0 ? { proxies } : {}),
      restart: async (i) => {
        await started[i]?.stop()
        const node = await launch(i)
        started[i] = node
        return node
      },
      stop: async () => {
        await Promise.all(started.map((n) => n.stop()))
        await Promise.all(proxies.map((p) => p.close()))
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await Promise.all(started.map((n) => n.stop()))
    await Promise.all(proxies.map((p) => p.close()))
    await rm(dir, { recursive: true, force: true })
    throw e
  }
}

/** The three topologies duplicate handling is tested on: the server checks dedupe and expected sequence in different orders. */
export const topologies: ReadonlyArray<{ readonly name: string; readonly start: () => Promise<NatsTopology> }> = [
  { name: 'R1 on nats-server >= 2.12', start: () => startSingle('R1 2.15', localNatsServerPath()) },
  { name: 'R3 cluster on nats-server >= 2.12', start: () => startCluster('R3 2.15', localNatsServerPath()) },
  { name: 'R1 on nats-server 2.10', start: () => startSingle('R1 2.10', natsServer210Path()) },
]
