import { rmSync } from 'node:fs'
import type { NatsConnection } from '@nats-io/transport-node'
import { cleanUp } from './cleanUp.js'
import type { NatsTopology } from './natsTopologies.js'
import type { ProcessorProcess } from './processor.js'

/**
 * Stops what a cluster test started, each step whatever the others do: its client connection,
 * its processor (SIGTERM, awaited, only if still running), the cluster's nodes, its temp dir.
 * Getters, because the test assigns its parts as it goes.
 */
export const stopClusterParts = (parts: {
  readonly client: () => NatsConnection | undefined
  readonly processor: () => ProcessorProcess | undefined
  readonly cluster: () => NatsTopology | undefined
  readonly dir: string
}): Promise<void> =>
  cleanUp(
    () => parts.client()?.close(),
    async () => {
      const p = parts.processor()
      if (p !== undefined && p.proc.exitCode === null && p.proc.signalCode === null) {
        p.proc.kill('SIGTERM')
        await p.exited()
      }
    },
    () => parts.cluster()?.stop(),
    () => rmSync(parts.dir, { recursive: true, force: true }),
  )

/**
 * The environment of a processor a cluster test starts: auth off, three replicas, no ingest,
 * projections, id index or HTTP (what the test does not look at), its own data dir; `extra` on top.
 */
export const clusterProcessorEnv = (natsUrl: string, dir: string, extra: Record<string, string> = {}): Record<string, string> => ({
  NATS_URL: natsUrl,
  ALLSOURCE_AUTH: 'off',
  ALLSOURCE_REPLICAS: '3',
  ALLSOURCE_INGEST: '0',
  ALLSOURCE_PROJECTIONS: '0',
  ALLSOURCE_ID_INDEX: '0',
  ALLSOURCE_HTTP_PORT: '0',
  ALLSOURCE_DATA_DIR: dir,
  ...extra,
})
