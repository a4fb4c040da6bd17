import { createHash } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { validateStream } from '../../domain/streams/appendRequest.js'

/** One NDJSON line of an import file: `{ stream, type, payload, metadata?, id? }`. */
export const ImportLine = t.intersection([
  t.type({ stream: t.string, type: t.string, payload: t.unknown }),
  t.partial({ metadata: t.UnknownRecord, id: t.string }),
])
export type ImportLine = t.TypeOf<typeof ImportLine>

/** One commit to send: a stream's consecutive lines, with a commitId derived from the file. */
export interface ImportBatch {
  readonly stream: string
  readonly commitId: string
  /** 1-based line numbers of the events, in file order. */
  readonly lines: readonly number[]
  readonly events: readonly { readonly type: string; readonly payload: unknown; readonly metadata?: Readonly<Record<string, unknown>>; readonly id?: string }[]
}

export interface ImportPlan {
  /** `sha256(file)`, hex: part of every commitId. */
  readonly hash: string
  readonly events: number
  /** Per stream, its batches in file order (send them one after another). */
  readonly streams: ReadonlyMap<string, readonly ImportBatch[]>
}

/** A line that cannot be imported: its number and why (never more of its content than the field). */
export interface LineError {
  readonly line: number
  readonly reason: string
}

/**
 * Plans an import of NDJSON text: every line is checked first (blank lines are skipped), so a
 * bad file sends nothing. Each stream's lines, in file order, are cut into commits of at most
 * `batch` events. A commit's id is `imp-<first 32 hex of sha256(file)>-<line of its first event>`:
 * the same file planned with the same `batch` gives the same commits with the same ids, so a
 * re-run (after a crash, a lost reply) is answered `duplicate` inside the service's duplicate
 * window (2 min by default) and writes nothing twice. A different `batch` or an edited file gives
 * other ids. Pure; the caller reads the file.
 */
export const planImport = (text: string, batch: number): E.Either<readonly LineError[], ImportPlan> => {
  const hash = createHash('sha256').update(text).digest('hex')
  const errors: LineError[] = []
  const byStream = new Map<string, { line: number; value: ImportLine }[]>()
  let events = 0
  text.split('\n').forEach((raw, i) => {
    const line = i + 1
    if (raw.trim() === '') return
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      errors.push({ line, reason: 'not valid JSON' })
      return
    }
    const decoded = ImportLine.decode(parsed)
    if (E.isLeft(decoded)) {
      errors.push({ line, reason: 'not {stream, type, payload, metadata?, id?} (stream and type strings, payload present)' })
      return
    }
    if (decoded.right.payload === undefined || decoded.right.payload === null) {
      errors.push({ line, reason: 'payload must be present and not null' })
      return
    }
    if (E.isLeft(validateStream(decoded.right.stream))) {
      errors.push({ line, reason: 'stream must be 1–200 chars of A–Z a–z 0–9 _ - =' })
      return
    }
    events++
    const list = byStream.get(decoded.right.stream) ?? []
    list.push({ line, value: decoded.right })
    byStream.set(decoded.right.stream, list)
  })
  if (errors.length > 0) return E.left(errors)
  const streams = new Map<string, ImportBatch[]>()
  for (const [stream, lines] of byStream) {
    const batches: ImportBatch[] = []
    for (let i = 0; i < lines.length; i += batch) {
      const chunk = lines.slice(i, i + batch)
      batches.push({
        stream,
        commitId: `imp-${hash.slice(0, 32)}-${chunk[0]?.line ?? 0}`,
        lines: chunk.map((l) => l.line),
        events: chunk.map(({ value: { type, payload, metadata, id } }) => ({ type, payload, ...(metadata !== undefined ? { metadata } : {}), ...(id !== undefined ? { id } : {}) })),
      })
    }
    streams.set(stream, batches)
  }
  return E.right({ hash, events, streams })
}
