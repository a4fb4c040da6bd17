import { useState } from 'preact/hooks'
import { call, curlFor, enc, type Problem, type Session, tenantPath } from '../api.js'
import { diffJson } from '../diff.js'
import { Copyable, Field, inputValue, Json, ProblemBox, Section } from '../ui.js'

export interface StoredEvent {
  readonly id: string
  readonly type: string
  readonly version: number
  readonly offset?: number
  readonly stream?: string
  readonly timestamp: string
  readonly payload: unknown
  readonly metadata?: unknown
}

interface StreamPage {
  readonly events: readonly StoredEvent[]
  readonly version: number
  readonly nextVersion?: number
}

const PAGE = 20
const LISTED = 200

/** Streams whose name starts with `prefix` (`GET …/streams?prefix`), in name order, the first {@link LISTED}. */
const findStreams = async (s: Session, prefix: string): Promise<{ found?: Found; problem?: Problem }> => {
  const r = await call<{ streams: readonly { stream: string; commits: number }[]; next?: string }>(s.credential, 'GET', tenantPath(s, `/streams?limit=${LISTED}${prefix !== '' ? `&prefix=${enc(prefix)}` : ''}`))
  return r.ok ? { found: { streams: r.data.streams, more: r.data.next !== undefined } } : { problem: r.problem }
}

interface Found {
  readonly streams: readonly { readonly stream: string; readonly commits: number }[]
  readonly more: boolean
}

export const StreamsPage = ({ session }: { readonly session: Session }) => {
  const [prefix, setPrefix] = useState('')
  const [found, setFound] = useState<Found | undefined>()
  const [stream, setStream] = useState('')
  const [page, setPage] = useState<StreamPage | undefined>()
  const [from, setFrom] = useState(1)
  const [selected, setSelected] = useState<StoredEvent | undefined>()
  const [problem, setProblem] = useState<Problem | undefined>()
  const [diffA, setDiffA] = useState('')
  const [diffB, setDiffB] = useState('')

  const search = async (e: Event) => {
    e.preventDefault()
    const r = await findStreams(session, prefix.trim())
    setProblem(r.problem)
    setFound(r.found)
  }
  const open = async (name: string, fromVersion: number) => {
    setStream(name)
    setFrom(fromVersion)
    setSelected(undefined)
    const r = await call<StreamPage>(session.credential, 'GET', tenantPath(session, `/streams/${enc(name)}?fromVersion=${fromVersion}&limit=${PAGE}`))
    if (!r.ok) return setProblem(r.problem)
    setProblem(undefined)
    setPage(r.data)
    const vs = r.data.events.map((x) => String(x.version))
    setDiffA(vs[0] ?? '')
    setDiffB(vs[1] ?? vs[0] ?? '')
  }
  const readPath = tenantPath(session, `/streams/${enc(stream)}?fromVersion=${from}&limit=${PAGE}`)
  const a = page?.events.find((x) => String(x.version) === diffA)
  const b = page?.events.find((x) => String(x.version) === diffB)
  const changes = a !== undefined && b !== undefined ? diffJson(a.payload, b.payload) : []

  return (
    <>
      <form class="row" onSubmit={(e) => void search(e)} aria-label="Find streams">
        <Field label="Stream name prefix">
          <input value={prefix} onInput={(e) => setPrefix(inputValue(e))} placeholder="order-" />
        </Field>
        <button type="submit">Find streams</button>
      </form>
      <form
        class="row"
        aria-label="Open a stream"
        onSubmit={(e) => {
          e.preventDefault()
          void open(stream.trim(), 1)
        }}
      >
        <Field label="Stream">
          <input value={stream} onInput={(e) => setStream(inputValue(e))} />
        </Field>
        <button type="submit">Open</button>
      </form>
      <ProblemBox problem={problem} />
      {found !== undefined && (
        <Section title="Streams found">
          <p class="hint">
            {found.streams.length} stream(s){found.more ? `: the first ${LISTED}, narrow the prefix for the others` : ''}.
          </p>
          <ul class="streams" data-testid="stream-list">
            {found.streams.map(({ stream: name, commits }) => (
              <li key={name}>
                <button type="button" class="link" onClick={() => void open(name, 1)}>
                  {name}
                </button>{' '}
                <span class="muted">{commits} commit(s)</span>
              </li>
            ))}
          </ul>
        </Section>
      )}
      {page !== undefined && (
        <Section title={`Stream ${stream}`}>
          <p>
            Version <strong data-testid="stream-version">{page.version}</strong>; showing from version {from}.
          </p>
          <table>
            <caption class="sr-only">Events of {stream}</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Type</th>
                <th scope="col">Time</th>
                <th scope="col">Id</th>
              </tr>
            </thead>
            <tbody data-testid="events">
              {page.events.map((ev) => (
                <tr key={ev.id} class={selected?.id === ev.id ? 'selected' : ''}>
                  <td>{ev.version}</td>
                  <td>
                    <button type="button" class="link" onClick={() => setSelected(ev)} aria-label={`${ev.type}, version ${ev.version}`}>
                      {ev.type}
                    </button>
                  </td>
                  <td>{ev.timestamp}</td>
                  <td class="mono">{ev.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="row">
            <button type="button" disabled={from <= 1} onClick={() => void open(stream, Math.max(1, from - PAGE))}>
              Previous page
            </button>
            <button type="button" disabled={page.nextVersion === undefined} onClick={() => void open(stream, page.nextVersion ?? from)}>
              Next page
            </button>
          </div>
          <Copyable label="curl command for this page" text={curlFor('GET', readPath)} />
          <Copyable label="allsource command for this page" text={`allsource read ${session.tenant} ${stream} --from-version ${from} --limit ${PAGE}`} />
        </Section>
      )}
      {selected !== undefined && (
        <Section title={`Event ${selected.version}: ${selected.type}`}>
          <Json value={selected} label="the event as JSON" />
          <Copyable label="curl command for this event" text={curlFor('GET', tenantPath(session, `/events/${enc(selected.id)}`))} />
        </Section>
      )}
      {page !== undefined && page.events.length > 1 && (
        <Section title="Diff the payload of two versions">
          <div class="row">
            <Field label="From version">
              <select value={diffA} onChange={(e) => setDiffA(inputValue(e))}>
                {page.events.map((ev) => (
                  <option key={ev.id} value={String(ev.version)}>
                    {ev.version}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="To version">
              <select value={diffB} onChange={(e) => setDiffB(inputValue(e))}>
                {page.events.map((ev) => (
                  <option key={ev.id} value={String(ev.version)}>
                    {ev.version}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          {changes.length === 0 ? (
            <p>The payloads are equal.</p>
          ) : (
            <ul class="diff" data-testid="diff">
              {changes.map((c) => (
                <li key={c.path} class={c.kind}>
                  <code>{c.path}</code> {c.kind}: {c.kind !== 'added' && <del>{JSON.stringify(c.before)}</del>} {c.kind !== 'removed' && <ins>{JSON.stringify(c.after)}</ins>}
                </li>
              ))}
            </ul>
          )}
        </Section>
      )}
    </>
  )
}
