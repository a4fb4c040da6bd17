import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { AppendObserver, AppendSource, AuthObserver } from '../../application/observability/ports.js'

/** What a processor exposes to be sampled on each scrape (never per request). */
export interface MetricSources {
  /** Stream actors in memory. */
  readonly resident?: () => number
  /** Work queued in the stream actors' mailboxes: sum and largest. */
  readonly mailbox?: () => { readonly sum: number; readonly max: number }
  /** The in-flight limit: requests being served, the cap, and requests refused so far. */
  readonly requests?: () => { readonly inFlight: number; readonly max: number; readonly refused: number; readonly limit?: number }
  /** Each projection this instance runs: its lag (commits behind the log's end) and events folded so far. */
  readonly projections?: () => readonly { readonly name: string; readonly lag: number; readonly folded: number }[]
  /** Appends the log refused because another writer moved the stream on (each costs the stream actor a reload), so far. */
  readonly conflicts?: () => number
  /** Runs (queued commits of one stream written as one atomic batch, `ALLSOURCE_RUNS`): stored, not stored (then written one by one), and commits stored in runs, so far. */
  readonly runs?: () => { readonly stored: number; readonly notStored: number; readonly commits: number }
  /** Partition routing: partitions served now, members counted alive, self-fences and the requests they answered UNAVAILABLE, so far. */
  readonly routing?: () => { readonly served: number; readonly members: number; readonly fences: number; readonly refused: number }
  /** Ingest messages not yet appended and dead letters held (JetStream info; cached, see `ingestCacheMs`). */
  readonly ingest?: () => Promise<{ readonly pending: number; readonly deadLetters: number }>
}

export interface ProcessorMetricsOptions {
  /** Collect Node's process metrics (CPU, memory, event loop lag, GC) on the registry (default true). */
  readonly processMetrics?: boolean
  /** How long JetStream's ingest figures are reused between scrapes (default 5000 ms). */
  readonly ingestCacheMs?: number
}

/**
 * One processor's Prometheus metrics, on a registry of its own (several processors can live in one
 * process). It observes appends and auth refusals as they happen (a histogram observe or a counter
 * increment each), takes HTTP timings from the gateway, and samples everything else on scrape.
 */
export interface ProcessorMetrics extends AppendObserver, AuthObserver {
  readonly registry: Registry
  /** The exposition format's content type, for the `/metrics` response. */
  readonly contentType: string
  /** The exposition text of every metric (samples the watched sources first). */
  text(): Promise<string>
  /** One HTTP response: the route pattern (not the raw URL), method, status, seconds taken. */
  httpRequestDone(route: string, method: string, status: number, seconds: number): void
  /** Adds sources sampled on scrape; later calls add to (or replace the same kinds of) earlier ones. */
  watch(sources: MetricSources): void
}

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Creates the metrics of one processor (names and labels: docs/observability.md). */
export const createProcessorMetrics = (options: ProcessorMetricsOptions = {}): ProcessorMetrics => {
  const registry = new Registry()
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry })
  const sources: { -readonly [K in keyof MetricSources]: MetricSources[K] } = {}
  const ingestCacheMs = options.ingestCacheMs ?? 5_000

  const appends = new Histogram({
    name: 'allsource_append_duration_seconds',
    help: 'Append requests by where they came from and outcome (ok, duplicate, or the error code), in seconds; the count is the rate',
    labelNames: ['source', 'outcome'] as const,
    buckets: SECONDS,
    registers: [registry],
  })
  // One child per (source, outcome), made once: an observe then costs no label hashing.
  const appendChildren = new Map<string, ReturnType<typeof appends.labels>>()
  const quotaRefusals = new Counter({
    name: 'allsource_quota_refusals_total',
    help: 'Requests and connections refused QUOTA_EXCEEDED, by limit (appendsPerSecond, eventsPerDay, streams, connections, …)',
    labelNames: ['limit'] as const,
    registers: [registry],
  })
  const authFailures = new Counter({
    name: 'allsource_auth_failures_total',
    help: 'Connections refused by the auth callout, by reason (the contract code)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const http = new Histogram({
    name: 'allsource_http_request_duration_seconds',
    help: 'HTTP requests by route, method and status, in seconds',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: SECONDS,
    registers: [registry],
  })

  new Gauge({
    name: 'allsource_stream_actors',
    help: 'Stream actors resident in memory',
    registers: [registry],
    collect() {
      if (sources.resident !== undefined) this.set(sources.resident())
    },
  })
  new Gauge({
    name: 'allsource_stream_mailbox_depth',
    help: 'Work queued in all stream actor mailboxes (behind the commits in flight)',
    registers: [registry],
    collect() {
      if (sources.mailbox !== undefined) this.set(sources.mailbox().sum)
    },
  })
  new Gauge({
    name: 'allsource_stream_mailbox_depth_max',
    help: 'Work queued in the fullest stream actor mailbox',
    registers: [registry],
    collect() {
      if (sources.mailbox !== undefined) this.set(sources.mailbox().max)
    },
  })
  new Gauge({
    name: 'allsource_requests_in_flight_max',
    help: 'The cap on requests in flight (ALLSOURCE_MAX_IN_FLIGHT)',
    registers: [registry],
    collect() {
      if (sources.requests !== undefined) this.set(sources.requests().max)
    },
  })
  new Gauge({
    name: 'allsource_requests_in_flight_limit',
    help: 'The limit on requests in flight now: ALLSOURCE_MAX_QUEUE_MS of work at the measured completion rate, at most the cap',
    registers: [registry],
    collect() {
      const r = sources.requests?.()
      if (r !== undefined) this.set(r.limit ?? r.max)
    },
  })
  // Counters sampled on scrape count up by what their source counted since the last scrape; each
  // samples in its own collect (prom-client reads a metric right after its own collect).
  let refusedSeen = 0
  new Counter({
    name: 'allsource_requests_refused_total',
    help: 'Requests refused UNAVAILABLE at once because the in-flight cap was reached',
    registers: [registry],
    collect() {
      if (sources.requests === undefined) return
      const refused = sources.requests().refused
      if (refused > refusedSeen) this.inc(refused - refusedSeen)
      refusedSeen = refused
    },
  })
  let conflictsSeen = 0
  new Counter({
    name: 'allsource_append_conflicts_total',
    help: 'Appends the log refused because another writer (another instance) moved the stream on; each costs a reload',
    registers: [registry],
    collect() {
      if (sources.conflicts === undefined) return
      const conflicts = sources.conflicts()
      if (conflicts > conflictsSeen) this.inc(conflicts - conflictsSeen)
      conflictsSeen = conflicts
    },
  })
  const runsSeen = { stored: 0, notStored: 0, commits: 0 }
  new Counter({
    name: 'allsource_append_runs_total',
    help: 'Runs of one stream\'s queued commits written as one atomic batch (ALLSOURCE_RUNS), by outcome; a run not stored is written one by one',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      if (sources.runs === undefined) return
      const r = sources.runs()
      if (r.stored > runsSeen.stored) this.inc({ outcome: 'stored' }, r.stored - runsSeen.stored)
      if (r.notStored > runsSeen.notStored) this.inc({ outcome: 'not_stored' }, r.notStored - runsSeen.notStored)
      runsSeen.stored = r.stored
      runsSeen.notStored = r.notStored
    },
  })
  new Counter({
    name: 'allsource_append_run_commits_total',
    help: 'Commits stored as part of a run (one atomic batch of one stream)',
    registers: [registry],
    collect() {
      if (sources.runs === undefined) return
      const commits = sources.runs().commits
      if (commits > runsSeen.commits) this.inc(commits - runsSeen.commits)
      runsSeen.commits = commits
    },
  })
  new Gauge({
    name: 'allsource_routing_partitions_served',
    help: 'Append partitions this instance serves now (partition routing; 0 while fenced)',
    registers: [registry],
    collect() {
      const r = sources.routing?.()
      if (r !== undefined) this.set(r.served)
    },
  })
  new Gauge({
    name: 'allsource_routing_members',
    help: 'Routing members this instance counts alive (itself included)',
    registers: [registry],
    collect() {
      const r = sources.routing?.()
      if (r !== undefined) this.set(r.members)
    },
  })
  let fencesSeen = 0
  new Counter({
    name: 'allsource_routing_fences_total',
    help: 'Times this instance stepped back from its partitions because its membership heartbeat lapsed (self-fencing)',
    registers: [registry],
    collect() {
      const r = sources.routing?.()
      if (r !== undefined && r.fences > fencesSeen) this.inc(r.fences - fencesSeen)
      if (r !== undefined) fencesSeen = r.fences
    },
  })
  let fencedSeen = 0
  new Counter({
    name: 'allsource_routing_fenced_requests_total',
    help: 'Routed appends answered UNAVAILABLE because this instance was fenced (a retry reaches the partition\'s owner)',
    registers: [registry],
    collect() {
      const r = sources.routing?.()
      if (r !== undefined && r.refused > fencedSeen) this.inc(r.refused - fencedSeen)
      if (r !== undefined) fencedSeen = r.refused
    },
  })
  new Gauge({
    name: 'allsource_requests_in_flight',
    help: 'NATS requests being served now (all endpoints of the processor)',
    registers: [registry],
    collect() {
      if (sources.requests === undefined) return
      this.set(sources.requests().inFlight)
    },
  })
  const foldedSeen = new Map<string, number>()
  new Counter({
    name: 'allsource_projection_events_folded_total',
    help: 'Events folded by each projection this instance runs (its rate is the fold rate)',
    labelNames: ['projection'] as const,
    registers: [registry],
    collect() {
      if (sources.projections === undefined) return
      for (const p of sources.projections()) {
        const seen = foldedSeen.get(p.name)
        // A restarted fold counts from 0 again: what it folded since is all new.
        const delta = seen === undefined || p.folded < seen ? p.folded : p.folded - seen
        this.inc({ projection: p.name }, delta)
        foldedSeen.set(p.name, p.folded)
      }
    },
  })
  new Gauge({
    name: 'allsource_projection_lag_commits',
    help: "Commits between each projection's checkpoint and the log's end, as last reported by its fold",
    labelNames: ['projection'] as const,
    registers: [registry],
    collect() {
      if (sources.projections === undefined) return
      for (const p of sources.projections()) this.set({ projection: p.name }, p.lag)
    },
  })
  let ingestCache: { at: number; value: Promise<{ pending: number; deadLetters: number } | undefined> } | undefined
  const ingestFigures = (): Promise<{ pending: number; deadLetters: number } | undefined> => {
    const source = sources.ingest
    if (source === undefined) return Promise.resolve(undefined)
    const now = Date.now()
    if (ingestCache === undefined || now - ingestCache.at >= ingestCacheMs) {
      // A failed read (JetStream busy, not yet set up) leaves the gauges where they were.
      ingestCache = { at: now, value: source().catch(() => undefined) }
    }
    return ingestCache.value
  }
  new Gauge({
    name: 'allsource_ingest_dlq_messages',
    help: 'Messages held in the dead-letter stream ALLSOURCE_DLQ',
    registers: [registry],
    async collect() {
      const f = await ingestFigures()
      if (f !== undefined) this.set(f.deadLetters)
    },
  })
  new Gauge({
    name: 'allsource_ingest_pending_messages',
    help: 'Ingest messages stored and not yet appended (the work-queue stream ALLSOURCE_INGEST)',
    registers: [registry],
    async collect() {
      const f = await ingestFigures()
      if (f !== undefined) this.set(f.pending)
    },
  })

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    appendDone(source: AppendSource, outcome: string, seconds: number, limit?: string) {
      const key = `${source} ${outcome}`
      let child = appendChildren.get(key)
      if (child === undefined) appendChildren.set(key, (child = appends.labels(source, outcome)))
      child.observe(seconds)
      if (limit !== undefined) quotaRefusals.inc({ limit })
    },
    authRefused(reason: string, quota?: string) {
      authFailures.inc({ reason })
      if (quota !== undefined) quotaRefusals.inc({ limit: quota })
    },
    httpRequestDone(route: string, method: string, status: number, seconds: number) {
      http.observe({ route, method, status: String(status) }, seconds)
    },
    watch(more: MetricSources) {
      Object.assign(sources, more)
    },
  }
}
