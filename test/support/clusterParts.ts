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
