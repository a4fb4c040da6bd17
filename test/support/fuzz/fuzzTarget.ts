import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { findNatsServer } from '../../../src/main/natsServer/findNatsServer.js'
import { launchNatsServer, type RunningNatsServer } from '../../../src/main/natsServer/launchNatsServer.js'
import { appendMappingConfig } from '../../../src/main/natsServer/natsServerConfig.js'
import { DEFAULT_PARTITIONS } from '../../../src/main/config.js'
import { type ProcessorProcess, spawnProcessor } from '../processor.js'

/** What the fuzzer drives: a real processor (its own process, as `npm run start:dev`) on its own nats-server. */
export interface FuzzTarget {
  readonly server: RunningNatsServer
  readonly processor: ProcessorProcess
  /** The fuzzer's own connection (the client side). */
  readonly nc: NatsConnection
  /** False once the processor process has exited. */
  alive(): boolean
  /**
   * Stops what this started, by PID: the processor (SIGTERM, then SIGKILL after 20 s), the
   * connection, the server; removes the temp dir. Says how the processor went: how long from
   * SIGTERM to exit, and whether it had to be killed.
   */
  stop(): Promise<ProcessorStop>
}

/** How the processor ended on `stop()`. */
export interface ProcessorStop {
  readonly exitMs: number
  readonly killed: boolean
  readonly loggedStopped: boolean
}

/**
 * Starts a fresh nats-server on a free port with its store in a new temp dir and the append
 * mapping (so the processor's routed append endpoint is what gets fuzzed), and the processor
 * as a child process connected to it only (`ALLSOURCE_EMBEDDED=never`), with ingest, the id
 * index and the built-in projections on. Resolves once the processor logs `ready`.
 */
export const startFuzzTarget = async (): Promise<FuzzTarget> => {
  const dir = await mkdtemp(join(tmpdir(), 'allsource-fuzz-'))
  // With the append mapping, so appends reach the processor's routed partitions (docs/operations.md, "Several processors").
  const server = await launchNatsServer({ binary: (await findNatsServer()).path, port: 0, storeDir: join(dir, 'store'), appendConfig: appendMappingConfig('allsource', DEFAULT_PARTITIONS) })
  const processor = spawnProcessor({ NATS_URL: server.url, ALLSOURCE_EMBEDDED: 'never', ALLSOURCE_INSTANCE: 'fuzz', ALLSOURCE_LEASE_MS: '2000' })
  let exited = false
  processor.exited().then(
    () => (exited = true),
    () => (exited = true),
  )
  const stopAll = async (): Promise<ProcessorStop> => {
    const started = performance.now()
    let killed = false
    if (!exited && processor.proc.pid !== undefined) {
      processor.proc.kill('SIGTERM')
      const killer = setTimeout(() => {
        killed = true
        processor.proc.kill('SIGKILL')
      }, 20_000)
      await processor.exited()
      clearTimeout(killer)
    }
    const stop = { exitMs: Math.round(performance.now() - started), killed, loggedStopped: /allsource stopped|"msg":"stopped"/.test(processor.output()) }
    await server.stop()
    await rm(dir, { recursive: true, force: true })
    return stop
  }
  try {
    await processor.ready(60_000)
  } catch (e) {
    await stopAll()
    throw e
  }
  const nc = await connect({ servers: server.url })
  return {
    server,
    processor,
    nc,
    alive: () => !exited && processor.proc.exitCode === null && processor.proc.signalCode === null,
    async stop() {
      await nc.close()
      return stopAll()
    },
  }
}
