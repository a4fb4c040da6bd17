import { hostname } from 'node:os'
import { defaultProjectionLingerMs } from '../adapters/nats/projections/projectionRunner.js'
/** How `npm start` finds its NATS server. */
export type EmbeddedMode = 'auto' | 'always' | 'never'
/** `ALLSOURCE_AUTH`: `auto` (on for the embedded server; off, with a warning, for an external server without auth), `on`, `off`. */
export type AuthMode = 'auto' | 'on' | 'off'

/** Processor settings, from the environment. Every one has a default that works out of the box. */
export interface Config {
  /** `NATS_URL`: connect here and nowhere else. */
  readonly natsUrl: string | undefined
  /** `ALLSOURCE_PROBE_URL` (default 127.0.0.1:4222): used when it answers with JetStream. */
  readonly probeUrl: string
  /** `ALLSOURCE_EMBEDDED`: `auto` (default) starts one only when nothing answers at the probe URL. */
  readonly embedded: EmbeddedMode
  /** `ALLSOURCE_EMBEDDED_PORT`: override the port of `nats.conf` (0 = any free port). */
  readonly embeddedPort: number | undefined
  /** `ALLSOURCE_DATA_DIR` (default ./data): the embedded server's JetStream store. */
  readonly dataDir: string
  readonly prefix: string
  readonly replicas: number
  readonly duplicateWindowMs: number
  /** `ALLSOURCE_APPEND_DEADLINE_MS` (default 10000): how long an append retries what a leader election answers before UNAVAILABLE. */
  readonly appendDeadlineMs: number
  /** `ALLSOURCE_GROUP_COMMITS=1` (default off): group commits of different streams into atomic batches (docs/writing.md). */
  readonly groupCommits: boolean
  /** `ALLSOURCE_RUNS` (default on; `0` = off): a busy stream's queued commits go to the log as one atomic batch (docs/writing.md, "Runs"). */
  readonly runs: boolean
  readonly maxEventsPerCommit: number
  readonly maxResidentStreams: number
  readonly idleTimeoutMs: number
  /** `ALLSOURCE_SNAPSHOT_EVERY` (default 100, 0 = off): snapshot module streams every this many events. */
  readonly snapshotEvery: number
  /** `ALLSOURCE_INGEST` (default on): run durable ingest while this instance holds the ingest lease. */
  readonly ingest: boolean
  /** `ALLSOURCE_INGEST_MAX_ATTEMPTS` (default 5): attempts at an ingest message failing with INTERNAL before it goes to the DLQ. */
  readonly ingestMaxAttempts: number
  /** `ALLSOURCE_ID_INDEX` (default on): maintain the event-id index for queries by id. */
  readonly idIndex: boolean
  /** `ALLSOURCE_PROJECTIONS` (default on): run the built-in projections. */
  readonly projections: boolean
  /** `ALLSOURCE_LEASE_MS` (default 10000): how long a silent instance keeps a projection's or ingest's lease. */
  readonly leaseMs: number
  /** `ALLSOURCE_PROJECTION_CHUNK` (default 16384): commits folded per KV write round while catching up. */
  readonly projectionChunk: number
  /** `ALLSOURCE_PROJECTION_LINGER_MS` (default 5; 0: at once): how long a live projection's chunk waits for more commits before its write. */
  readonly projectionLingerMs: number
  /** `ALLSOURCE_INSTANCE` (default `<hostname>-<pid>`): this processor's name in leases and status. */
  readonly instance: string
  /**
   * `ALLSOURCE_MAX_IN_FLIGHT` (default 5000): requests served at once by this processor; past
   * it a request is answered UNAVAILABLE (503, `retryAfterMs`) at once.
   */
  readonly maxInFlight: number
  /** `ALLSOURCE_MAX_QUEUE_MS` (default 2000; 0 = off): work let in flight, in ms at the measured completion rate (docs/reliability.md#overload). */
  readonly maxQueueMs: number
  /**
   * `ALLSOURCE_SHUTDOWN_TIMEOUT_MS` (default 10000): how long SIGINT/SIGTERM wait for requests in
   * flight to be answered before closing anyway.
   */
  readonly shutdownTimeoutMs: number
  /** `ALLSOURCE_EXAMPLE_MODULES` (default on): register the bank-account example module. */
  readonly exampleModules: boolean
  /** `ALLSOURCE_MAX_READ_CONSUMERS` (default 32): ephemeral log consumers (reads, queries, replays, hydrations) at once. */
  readonly maxReadConsumers: number
  /** `ALLSOURCE_AUTH` (default `auto`): see {@link AuthMode} and docs/security.md. */
  readonly auth: AuthMode
  /** `ALLSOURCE_BOOTSTRAP_KEY`: the operator key to use; otherwise one is generated once into `<dataDir>/auth/operator.key` (0600). */
  readonly bootstrapKey: string | undefined
  /** `ALLSOURCE_HTTP_PORT` (default 3900; 0 = no HTTP gateway): the HTTP gateway's port. */
  readonly httpPort: number
  /** `ALLSOURCE_HTTP_HOST` (default 127.0.0.1): the address the HTTP gateway listens on. */
  readonly httpHost: string
  /** `ALLSOURCE_AUTH_GRANT_TTL_MS` (default 600000 = 10 min): how long a connection's grant lives before it must authenticate again. */
  readonly grantTtlMs: number
  /**
   * `ALLSOURCE_PARTITIONS` (default 32; 0 = off): the partitions of the server's append mapping
   * (`{{partition(n,1,2)}}`, docs/operations.md "Several processors"); each instance serves the
   * partitions it owns, so a stream's appends go to one instance. Must equal the server's.
   */
  readonly partitions: number
  /** `ALLSOURCE_MEMBER_TTL_MS` (default 3000): how long a silent instance keeps its partitions (it beats every third of it). */
  readonly memberTtlMs: number
}

/** The partition count of the append mapping in `nats.conf` and the generated auth block. */
export const DEFAULT_PARTITIONS = 32

const int = (env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number => {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}; got "${raw}"`)
  return n
}

const httpPortOf = (env: NodeJS.ProcessEnv): number => {
  const port = int(env, 'ALLSOURCE_HTTP_PORT', 3900, 0)
  if (port > 65535) throw new Error(`ALLSOURCE_HTTP_PORT must be a port from 0 (off) to 65535; got "${env.ALLSOURCE_HTTP_PORT}"`)
  return port
}

/** Reads the configuration; throws one clear message for a malformed setting. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const embedded = env.ALLSOURCE_EMBEDDED ?? 'auto'
  if (embedded !== 'auto' && embedded !== 'always' && embedded !== 'never') {
    throw new Error(`ALLSOURCE_EMBEDDED must be auto, always or never; got "${embedded}"`)
  }
  const prefix = env.ALLSOURCE_PREFIX ?? 'allsource'
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`ALLSOURCE_PREFIX must be one subject token; got "${prefix}"`)
  const auth = env.ALLSOURCE_AUTH === undefined || env.ALLSOURCE_AUTH === '' ? 'auto' : env.ALLSOURCE_AUTH
  if (auth !== 'auto' && auth !== 'on' && auth !== 'off') throw new Error(`ALLSOURCE_AUTH must be auto, on or off; got "${auth}"`)
  return {
    auth,
    bootstrapKey: env.ALLSOURCE_BOOTSTRAP_KEY === '' ? undefined : env.ALLSOURCE_BOOTSTRAP_KEY,
    grantTtlMs: int(env, 'ALLSOURCE_AUTH_GRANT_TTL_MS', 600_000, 10_000),
    httpPort: httpPortOf(env),
    httpHost: env.ALLSOURCE_HTTP_HOST === undefined || env.ALLSOURCE_HTTP_HOST === '' ? '127.0.0.1' : env.ALLSOURCE_HTTP_HOST,
    natsUrl: env.NATS_URL === '' ? undefined : env.NATS_URL,
    probeUrl: env.ALLSOURCE_PROBE_URL ?? '127.0.0.1:4222',
    embedded,
    embeddedPort: env.ALLSOURCE_EMBEDDED_PORT === undefined ? undefined : int(env, 'ALLSOURCE_EMBEDDED_PORT', 0),
    dataDir: env.ALLSOURCE_DATA_DIR ?? 'data',
    prefix,
    replicas: int(env, 'ALLSOURCE_REPLICAS', 1, 1),
    duplicateWindowMs: int(env, 'ALLSOURCE_DUPLICATE_WINDOW_MS', 120_000, 1_000),
    appendDeadlineMs: int(env, 'ALLSOURCE_APPEND_DEADLINE_MS', 10_000, 0),
    groupCommits: env.ALLSOURCE_GROUP_COMMITS === '1' || env.ALLSOURCE_GROUP_COMMITS === 'true',
    runs: env.ALLSOURCE_RUNS !== '0' && env.ALLSOURCE_RUNS !== 'false',
    maxEventsPerCommit: int(env, 'ALLSOURCE_MAX_EVENTS_PER_COMMIT', 1_000, 1),
    maxResidentStreams: int(env, 'ALLSOURCE_MAX_RESIDENT_STREAMS', 10_000, 1),
    idleTimeoutMs: int(env, 'ALLSOURCE_IDLE_TIMEOUT_MS', 60_000, 10),
    snapshotEvery: int(env, 'ALLSOURCE_SNAPSHOT_EVERY', 100, 0),
    ingest: env.ALLSOURCE_INGEST !== '0' && env.ALLSOURCE_INGEST !== 'false',
    ingestMaxAttempts: int(env, 'ALLSOURCE_INGEST_MAX_ATTEMPTS', 5, 1),
    idIndex: env.ALLSOURCE_ID_INDEX !== '0' && env.ALLSOURCE_ID_INDEX !== 'false',
    projections: env.ALLSOURCE_PROJECTIONS !== '0' && env.ALLSOURCE_PROJECTIONS !== 'false',
    leaseMs: int(env, 'ALLSOURCE_LEASE_MS', 10_000, 100),
    projectionChunk: int(env, 'ALLSOURCE_PROJECTION_CHUNK', 16_384, 1),
    projectionLingerMs: int(env, 'ALLSOURCE_PROJECTION_LINGER_MS', defaultProjectionLingerMs, 0),
    instance: env.ALLSOURCE_INSTANCE !== undefined && env.ALLSOURCE_INSTANCE !== '' ? env.ALLSOURCE_INSTANCE : `${hostname()}-${process.pid}`,
    maxInFlight: int(env, 'ALLSOURCE_MAX_IN_FLIGHT', 5_000, 1),
    maxQueueMs: int(env, 'ALLSOURCE_MAX_QUEUE_MS', 2_000, 0),
    shutdownTimeoutMs: int(env, 'ALLSOURCE_SHUTDOWN_TIMEOUT_MS', 10_000, 0),
    exampleModules: env.ALLSOURCE_EXAMPLE_MODULES !== '0' && env.ALLSOURCE_EXAMPLE_MODULES !== 'false',
    maxReadConsumers: int(env, 'ALLSOURCE_MAX_READ_CONSUMERS', 32, 1),
    partitions: int(env, 'ALLSOURCE_PARTITIONS', DEFAULT_PARTITIONS, 0),
    memberTtlMs: int(env, 'ALLSOURCE_MEMBER_TTL_MS', 3_000, 100),
  }
}
