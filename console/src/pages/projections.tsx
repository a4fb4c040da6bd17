import { useRef, useState } from 'preact/hooks'
import { call, enc, type Problem, type Session, tenantPath } from '../api.js'
import { Field, fmt, inputValue, Json, ProblemBox, Section, Sparkline, usePoll } from '../ui.js'

interface Status {
  readonly name: string
  readonly state: string
  readonly checkpoint: number
  readonly lag: number
  readonly eventsPerSecond: number
  readonly generation?: number
  readonly rebuild?: { readonly id: string; readonly fromOffset: number; readonly checkpoint: number; readonly lag: number }
  readonly lastError?: { readonly message: string; readonly offset?: number; readonly at: string }
  readonly stale?: boolean
}

export const PROJECTIONS_INTERVAL_MS = 2_000
const KEEP = 30

/** Every projection's status, polled; a key read; and, for the operator, pause, resume and rebuild with its progress. */
export const ProjectionsPage = ({ session }: { readonly session: Session }) => {
  const [statuses, setStatuses] = useState<readonly Status[]>([])
  const [problem, setProblem] = useState<Problem | undefined>()
  const rates = useRef(new Map<string, number[]>())
  const [name, setName] = useState('entity-state')
  const [key, setKey] = useState('')
  const [entry, setEntry] = useState<unknown>()
  const [message, setMessage] = useState('')
  // Projections are the platform's: the route authorizes `manageProjections` with no tenant, which only the operator passes.
  const operate = session.role === 'operator'

  usePoll(async () => {
    const r = await call<{ projections: readonly Status[] }>(session.credential, 'GET', tenantPath(session, '/projections'))
    if (!r.ok) return setProblem(r.problem)
    for (const s of r.data.projections) rates.current.set(s.name, [...(rates.current.get(s.name) ?? []).slice(-(KEEP - 1)), s.eventsPerSecond])
    setStatuses([...r.data.projections].sort((a, b) => a.name.localeCompare(b.name)))
  }, PROJECTIONS_INTERVAL_MS)

  const read = async (e: Event) => {
    e.preventDefault()
    const r = await call(session.credential, 'GET', tenantPath(session, `/projections/${enc(name)}/${enc(key.trim())}`))
    setEntry(r.ok ? r.data : undefined)
    setProblem(r.ok ? undefined : r.problem)
  }
  const command = async (projection: string, verb: 'pause' | 'resume' | 'rebuild') => {
    const r = await call(session.credential, 'POST', `/v1/admin/projections/${enc(projection)}/${verb}`, verb === 'rebuild' ? { fromOffset: 0 } : {})
    setProblem(r.ok ? undefined : r.problem)
    setMessage(r.ok ? `${verb} of ${projection} requested` : '')
  }

  return (
    <>
      <ProblemBox problem={problem} />
      <p class="ok" role="status">
        {message}
      </p>
      <table>
        <caption class="sr-only">Projections</caption>
        <thead>
          <tr>
            <th scope="col">Projection</th>
            <th scope="col">State</th>
            <th scope="col">Checkpoint</th>
            <th scope="col">Lag</th>
            <th scope="col">Events/s</th>
            <th scope="col">Rebuild</th>
            <th scope="col">Last error</th>
            {operate && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody data-testid="projections">
          {statuses.map((s) => (
            <tr key={s.name}>
              <th scope="row">{s.name}</th>
              <td data-testid={`state-${s.name}`}>
                {s.state}
                {s.stale === true ? ' (stale)' : ''}
                {s.generation !== undefined ? `, generation ${s.generation}` : ''}
              </td>
              <td data-testid={`checkpoint-${s.name}`}>{s.checkpoint}</td>
              <td>{s.lag}</td>
              <td>
                {fmt(s.eventsPerSecond)} <Sparkline values={rates.current.get(s.name) ?? []} label={`events per second of ${s.name}`} width={120} height={24} />
              </td>
              <td data-testid={`rebuild-${s.name}`}>
                {s.rebuild === undefined ? (
                  '–'
                ) : (
                  <>
                    <progress max={Math.max(1, s.rebuild.checkpoint + s.rebuild.lag)} value={s.rebuild.checkpoint} aria-label={`rebuild progress of ${s.name}`} /> {s.rebuild.checkpoint}/{s.rebuild.checkpoint + s.rebuild.lag}
                  </>
                )}
              </td>
              <td>{s.lastError === undefined ? '–' : `${s.lastError.message}${s.lastError.offset !== undefined ? ` (offset ${s.lastError.offset})` : ''} at ${s.lastError.at}`}</td>
              {operate && (
                <td class="actions">
                  {s.state === 'paused' ? (
                    <button type="button" onClick={() => void command(s.name, 'resume')} aria-label={`Resume ${s.name}`}>
                      Resume
                    </button>
                  ) : (
                    <button type="button" onClick={() => void command(s.name, 'pause')} aria-label={`Pause ${s.name}`}>
                      Pause
                    </button>
                  )}{' '}
                  <button type="button" onClick={() => void command(s.name, 'rebuild')} aria-label={`Rebuild ${s.name}`}>
                    Rebuild
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {!operate && <p class="hint">Pause, resume and rebuild are the operator's: projections are shared by every tenant.</p>}
      <Section title="Read a key">
        <form class="row" onSubmit={(e) => void read(e)} aria-label="Read a projection key">
          <Field label="Projection">
            <select value={name} onChange={(e) => setName(inputValue(e))}>
              {statuses.map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Key">
            <input required value={key} onInput={(e) => setKey(inputValue(e))} placeholder="order-1" />
          </Field>
          <button type="submit">Read</button>
        </form>
        {entry !== undefined && <Json value={entry} label="the projection entry" />}
      </Section>
    </>
  )
}
