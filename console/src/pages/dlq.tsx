import { useState } from 'preact/hooks'
import { call, can, enc, type Problem, type Session, tenantPath } from '../api.js'
import { Field, inputValue, Json, ProblemBox, Section, usePoll } from '../ui.js'

interface DeadLetter {
  readonly id: number
  readonly subject: string
  readonly ingestSubject: string
  readonly code: string
  readonly error: string
  readonly attempts: number
  readonly at: string
  readonly data: string
}

interface Position {
  readonly name: string
  readonly stream?: string
  readonly acknowledged: number
  readonly lag: number
}

export const DLQ_INTERVAL_MS = 3_000
const NAMES = 'allsource.console.subscriptions'

/** The body of a dead letter as text when it is UTF-8 (JSON pretty-printed), else its base64. */
const bodyOf = (base64: string): string => {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)))
    try {
      return JSON.stringify(JSON.parse(text), null, 2)
    } catch {
      return text
    }
  } catch {
    return `(binary, base64) ${base64}`
  }
}

/**
 * Durable subscriptions' positions (looked up by name: the API has no list of them) and the
 * tenant's dead letters (`GET …/dlq`): inspect one, re-drive one or all (`POST …/dlq/{id}/redrive`).
 */
export const DlqPage = ({ session }: { readonly session: Session }) => {
  const [letters, setLetters] = useState<readonly DeadLetter[]>([])
  const [inspected, setInspected] = useState<DeadLetter | undefined>()
  const [problem, setProblem] = useState<Problem | undefined>()
  const [message, setMessage] = useState('')
  const [names, setNames] = useState<readonly string[]>(() => JSON.parse(sessionStorage.getItem(NAMES) ?? '[]') as string[])
  const [positions, setPositions] = useState<Readonly<Record<string, Position | Problem>>>({})
  const [name, setName] = useState('')
  const [fromStart, setFromStart] = useState(true)
  const [contentType, setContentType] = useState('')
  const redriveAllowed = can(session, 'ingest')
  const manage = can(session, 'manageSubscriptions')

  const refresh = async () => {
    const r = await call<{ deadLetters: readonly DeadLetter[] }>(session.credential, 'GET', tenantPath(session, '/dlq?limit=100'))
    if (r.ok) setLetters(r.data.deadLetters)
    else setProblem(r.problem)
    const next: Record<string, Position | Problem> = {}
    for (const n of names) {
      const p = await call<Position>(session.credential, 'GET', tenantPath(session, `/subscriptions/${enc(n)}`))
      next[n] = p.ok ? p.data : p.problem
    }
    setPositions(next)
  }
  usePoll(refresh, DLQ_INTERVAL_MS, [names.join('\n')])

  const remember = (n: string) => {
    const all = [...new Set([...names, n])]
    sessionStorage.setItem(NAMES, JSON.stringify(all))
    setNames(all)
  }
  const redrive = async (ids: readonly number[]) => {
    let done = 0
    for (const id of ids) {
      const r = await call(session.credential, 'POST', tenantPath(session, `/dlq/${id}/redrive`), contentType.trim() !== '' ? { contentType: contentType.trim() } : {})
      if (!r.ok) {
        setProblem(r.problem)
        break
      }
      done++
    }
    setMessage(`re-drove ${done} of ${ids.length} dead letter(s)`)
    setInspected(undefined)
    await refresh()
  }
  const create = async (e: Event) => {
    e.preventDefault()
    const r = await call(session.credential, 'POST', tenantPath(session, '/subscriptions'), { name: name.trim(), from: fromStart ? 'start' : 'end' })
    setProblem(r.ok ? undefined : r.problem)
    if (r.ok) remember(name.trim())
  }

  return (
    <>
      <ProblemBox problem={problem} />
      <p class="ok" role="status">
        {message}
      </p>
      <Section title="Subscriptions">
        <form class="row" onSubmit={(e) => void create(e)} aria-label="Look up or create a subscription">
          <Field label="Subscription name">
            <input required value={name} onInput={(e) => setName(inputValue(e))} />
          </Field>
          <button type="button" onClick={() => name.trim() !== '' && remember(name.trim())}>
            Watch
          </button>
          {manage && (
            <>
              <label class="radio">
                <input type="checkbox" checked={fromStart} onChange={(e) => setFromStart((e.currentTarget as HTMLInputElement).checked)} /> from the start of the log
              </label>
              <button type="submit">Create</button>
            </>
          )}
        </form>
        <table>
          <caption class="sr-only">Watched subscriptions</caption>
          <thead>
            <tr>
              <th scope="col">Subscription</th>
              <th scope="col">Stream</th>
              <th scope="col">Acknowledged offset</th>
              <th scope="col">Pending (lag)</th>
            </tr>
          </thead>
          <tbody data-testid="subscriptions">
            {names.map((n) => {
              const p = positions[n]
              return (
                <tr key={n}>
                  <th scope="row">{n}</th>
                  {p === undefined ? (
                    <td colSpan={3}>…</td>
                  ) : 'code' in p ? (
                    <td colSpan={3} class="problem">
                      {p.code}
                    </td>
                  ) : (
                    <>
                      <td>{p.stream ?? 'all streams'}</td>
                      <td>{p.acknowledged}</td>
                      <td>{p.lag}</td>
                    </>
                  )}
                </tr>
              )
            })}
          </tbody>
        </table>
      </Section>
      <Section title="Dead letters">
        <p data-testid="dlq-count">
          {letters.length} dead letter(s){letters.length === 100 ? ' (the first 100)' : ''}.
        </p>
        {redriveAllowed && letters.length > 0 && (
          <div class="row">
            <Field label="Content-Type to re-drive with (optional; fixes a body sent with a wrong one)">
              <input value={contentType} onInput={(e) => setContentType(inputValue(e))} placeholder="application/json" />
            </Field>
            <button type="button" onClick={() => void redrive(letters.map((l) => l.id))}>
              Re-drive all
            </button>
          </div>
        )}
        <table>
          <caption class="sr-only">Dead letters</caption>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Ingest subject</th>
              <th scope="col">Code</th>
              <th scope="col">Error</th>
              <th scope="col">Attempts</th>
              <th scope="col">At</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody data-testid="dead-letters">
            {letters.map((l) => (
              <tr key={l.id} class={inspected?.id === l.id ? 'selected' : ''}>
                <td>{l.id}</td>
                <td class="mono">{l.ingestSubject}</td>
                <td>{l.code}</td>
                <td>{l.error}</td>
                <td>{l.attempts}</td>
                <td>{l.at}</td>
                <td>
                  <button type="button" class="link" onClick={() => setInspected(l)} aria-label={`Inspect dead letter ${l.id}`}>
                    Inspect
                  </button>{' '}
                  {redriveAllowed && (
                    <button type="button" onClick={() => void redrive([l.id])} aria-label={`Re-drive dead letter ${l.id}`}>
                      Re-drive
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {inspected !== undefined && (
          <>
            <h3>Dead letter {inspected.id}</h3>
            <Json value={{ ...inspected, data: undefined }} label="the dead letter" />
            <pre class="json" tabIndex={0} aria-label="the dead letter's body">
              {bodyOf(inspected.data)}
            </pre>
          </>
        )}
      </Section>
    </>
  )
}
