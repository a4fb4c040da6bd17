import { useRef, useState } from 'preact/hooks'
import { call, can, type Problem, type Session } from '../api.js'
import { buckets, parseMetrics, quantile, type Sample, sum } from '../metrics.js'
import { fmt, Json, ProblemBox, Section, Sparkline, usePoll } from '../ui.js'

/** Seconds between two scrapes of /metrics. */
export const OVERVIEW_INTERVAL_MS = 3_000
const KEEP = 40

interface Point {
  readonly at: number
  readonly appendsPerSecond: number
  readonly p99Ms: number | undefined
  readonly actors: number
  readonly inFlight: number
  readonly lag: Readonly<Record<string, number>>
}

const APPEND = 'allsource_append_duration_seconds'

/** Append rate, p99, resident actors, in-flight requests and projection lag, scraped from `/metrics` every few seconds. */
export const OverviewPage = ({ session }: { readonly session: Session }) => {
  const [points, setPoints] = useState<readonly Point[]>([])
  const [problem, setProblem] = useState<Problem | undefined>()
  const [stats, setStats] = useState<unknown>()
  const last = useRef<{ at: number; samples: readonly Sample[] } | undefined>(undefined)

  usePoll(async () => {
    const r = await call<string>(undefined, 'GET', '/metrics')
    if (!r.ok) return setProblem(r.problem)
    setProblem(undefined)
    const samples = parseMetrics(String(r.data))
    const at = Date.now()
    const before = last.current
    const count = sum(samples, `${APPEND}_count`)
    const rate = before === undefined ? 0 : Math.max(0, count - sum(before.samples, `${APPEND}_count`)) / ((at - before.at) / 1000)
    const q = quantile(0.99, buckets(samples, APPEND), before === undefined ? undefined : buckets(before.samples, APPEND))
    const lag: Record<string, number> = {}
    for (const s of samples) if (s.name === 'allsource_projection_lag_commits') lag[s.labels.projection ?? '?'] = s.value
    last.current = { at, samples }
    const p: Point = { at, appendsPerSecond: rate, p99Ms: q === undefined ? undefined : q * 1000, actors: sum(samples, 'allsource_stream_actors'), inFlight: sum(samples, 'allsource_requests_in_flight'), lag }
    setPoints((ps) => [...ps.slice(-(KEEP - 1)), p])
    if (can(session, 'readStats')) {
      const st = await call(session.credential, 'GET', `/v1/admin/${encodeURIComponent(session.tenant)}/stats`)
      if (st.ok) setStats(st.data)
    }
  }, OVERVIEW_INTERVAL_MS)

  const now = points[points.length - 1]
  const series = (f: (p: Point) => number) => points.map(f)
  const projections = now === undefined ? [] : Object.keys(now.lag).sort()
  return (
    <>
      <p class="hint">
        From <code>/metrics</code> of this processor, every {OVERVIEW_INTERVAL_MS / 1000} s (last {KEEP} samples). p99 is the upper bound of the histogram bucket holding the 99th percentile of the appends in the last interval.
      </p>
      <ProblemBox problem={problem} />
      <div class="cards">
        <Card title="Appends per second" value={now?.appendsPerSecond} values={series((p) => p.appendsPerSecond)} testid="append-rate" />
        <Card title="Append p99 (ms)" value={now?.p99Ms} values={series((p) => p.p99Ms ?? 0)} testid="append-p99" />
        <Card title="Resident stream actors" value={now?.actors} values={series((p) => p.actors)} testid="actors" />
        <Card title="Requests in flight" value={now?.inFlight} values={series((p) => p.inFlight)} testid="in-flight" />
        {projections.map((name) => (
          <Card key={name} title={`Lag of ${name} (commits)`} value={now?.lag[name]} values={series((p) => p.lag[name] ?? 0)} testid={`lag-${name}`} />
        ))}
      </div>
      {stats !== undefined && (
        <Section title={`Tenant ${session.tenant}`}>
          <Json value={stats} label="tenant stats" />
        </Section>
      )}
    </>
  )
}

const Card = ({ title, value, values, testid }: { readonly title: string; readonly value: number | undefined; readonly values: readonly number[]; readonly testid: string }) => (
  <figure class="card" data-testid={testid}>
    <figcaption>{title}</figcaption>
    <output class="big">{value === undefined ? '–' : fmt(value)}</output>
    <Sparkline values={values} label={title} />
  </figure>
)
