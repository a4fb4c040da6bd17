import * as E from 'fp-ts/lib/Either.js'
import { useEffect, useRef, useState } from 'preact/hooks'
import { compileFilter, type Predicate } from '../../../src/domain/reading/filterEval.js'
import { parseWhere } from '../../../src/domain/reading/where.js'
import { type Credential, enc, type Session, tenantPath } from '../api.js'
import type { StoredEvent } from './streams.js'
import { Field, fmt, inputValue } from '../ui.js'

/** Events kept for the display (the newest); older ones scroll out. */
const SHOWN = 100
/** The display is redrawn at most this often, whatever the event rate (sampling, not dropping). */
export const REDRAW_MS = 250

/** A browser cannot set headers on a WebSocket: the credential goes in the subprotocol list (docs/http-live.md). */
const protocolsFor = (c: Credential): string[] => ['allsource.v1', c.kind === 'apikey' ? `allsource.apikey.${c.key}` : `allsource.bearer.${c.token}`]

interface Counters {
  readonly received: number
  readonly matched: number
  readonly perSecond: number
  readonly lastOffset: number
}

/**
 * The tenant's events as they arrive (`/v1/tenants/{t}/events/live`), filtered in the page by the
 * query language (the product's own parser and evaluator). Every message is read at once, so the
 * server never sees a slow consumer; the list is redrawn from a ring of the newest matches every
 * {@link REDRAW_MS} ms, so 5,000 events/s cost the page a few renders a second, not 5,000.
 */
export const LivePage = ({ session }: { readonly session: Session }) => {
  const [filterText, setFilterText] = useState('')
  const [filterError, setFilterError] = useState<string | undefined>()
  const [status, setStatus] = useState('connecting')
  const [paused, setPaused] = useState(false)
  const [shown, setShown] = useState<readonly StoredEvent[]>([])
  const [counters, setCounters] = useState<Counters>({ received: 0, matched: 0, perSecond: 0, lastOffset: 0 })
  const ring = useRef<StoredEvent[]>([])
  const predicate = useRef<Predicate | undefined>(undefined)
  const pausedRef = useRef(false)
  const stats = useRef({ received: 0, matched: 0, lastOffset: 0, windowStart: Date.now(), windowCount: 0, perSecond: 0 })

  useEffect(() => {
    let ws: WebSocket | undefined
    let closed = false
    let retry: ReturnType<typeof setTimeout> | undefined
    const connect = () => {
      const from = stats.current.lastOffset > 0 ? `?fromOffset=${stats.current.lastOffset + 1}` : ''
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${tenantPath(session, `/events/live${from}`)}`, protocolsFor(session.credential))
      ws.onopen = () => setStatus('live')
      ws.onmessage = (m) => {
        const e = JSON.parse(String(m.data)) as StoredEvent & { stream: string; offset: number }
        const s = stats.current
        s.received++
        s.windowCount++
        s.lastOffset = e.offset
        const p = predicate.current
        if (p !== undefined && !p({ ...e, stream: e.stream, offset: e.offset })) return
        s.matched++
        if (pausedRef.current) return
        ring.current.push(e)
        if (ring.current.length > SHOWN * 2) ring.current = ring.current.slice(-SHOWN)
      }
      ws.onclose = (c) => {
        if (closed) return
        setStatus(`closed (${c.code}${c.reason !== '' ? ` ${c.reason}` : ''}); reconnecting`)
        // Resume after the last whole commit (docs/http-live.md, "Resuming").
        retry = setTimeout(connect, 1_000)
      }
    }
    connect()
    const timer = setInterval(() => {
      const s = stats.current
      const now = Date.now()
      if (now - s.windowStart >= 1_000) {
        s.perSecond = (s.windowCount * 1000) / (now - s.windowStart)
        s.windowStart = now
        s.windowCount = 0
      }
      setCounters({ received: s.received, matched: s.matched, perSecond: s.perSecond, lastOffset: s.lastOffset })
      if (!pausedRef.current) setShown(ring.current.slice(-SHOWN).reverse())
    }, REDRAW_MS)
    return () => {
      closed = true
      clearInterval(timer)
      if (retry !== undefined) clearTimeout(retry)
      ws?.close(1000)
    }
  }, [session.tenant, session.credential])

  const apply = (e: Event) => {
    e.preventDefault()
    const text = filterText.trim()
    if (text === '') {
      predicate.current = undefined
      setFilterError(undefined)
    } else {
      const r = parseWhere(text)
      if (E.isLeft(r)) return setFilterError(r.left._tag === 'BadRequest' ? r.left.message : 'invalid filter')
      predicate.current = compileFilter(r.right)
      setFilterError(undefined)
    }
    ring.current = []
    setShown([])
  }
  const togglePause = () => {
    pausedRef.current = !pausedRef.current
    setPaused(pausedRef.current)
  }

  return (
    <>
      <form class="row" onSubmit={apply} aria-label="Filter the live events">
        <Field label="Filter (query language)">
          <input class="wide" value={filterText} onInput={(e) => setFilterText(inputValue(e))} placeholder='type = "order.placed" and payload.total > 40' aria-describedby="filter-help" />
        </Field>
        <button type="submit">Apply filter</button>
        <button type="button" onClick={togglePause} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </form>
      <p id="filter-help" class="hint">
        The filter runs in this page on every event received; see docs/querying.md. Paused, the connection stays open and counts; the list stops.
      </p>
      {filterError !== undefined && (
        <p class="problem" role="alert">
          {filterError}
        </p>
      )}
      <p aria-live="polite" data-testid="live-status">
        Connection: <strong>{status}</strong>
        {paused ? ' · paused' : ''}
      </p>
      <dl class="counters">
        <dt>Received</dt>
        <dd data-testid="received">{fmt(counters.received)}</dd>
        <dt>Matching</dt>
        <dd data-testid="matched">{fmt(counters.matched)}</dd>
        <dt>Events/s</dt>
        <dd data-testid="rate">{fmt(Math.round(counters.perSecond))}</dd>
        <dt>Last offset</dt>
        <dd data-testid="last-offset">{counters.lastOffset}</dd>
      </dl>
      <ul class="tail" data-testid="tail" aria-label={`The newest ${SHOWN} matching events`} tabIndex={0}>
        {shown.map((e) => (
          <li key={`${e.id}`}>
            <span class="muted">#{e.offset}</span> <strong>{e.stream}</strong> v{e.version} <em>{e.type}</em> {JSON.stringify(e.payload)}
          </li>
        ))}
      </ul>
      <p class="hint">
        Tenant <code>{enc(session.tenant)}</code>: {shown.length} of the newest matching events shown, redrawn every {REDRAW_MS} ms.
      </p>
    </>
  )
}
