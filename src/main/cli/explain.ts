import { errors as natsErrors } from '@nats-io/transport-node'
import { AllSourceError } from '../../adapters/nats/service/client.js'
import { CliError, toJson } from './output.js'

const detailText = (d: Readonly<Record<string, unknown>>): string => (Object.keys(d).length === 0 ? '' : ` ${toJson(d)}`)

/** What to do next after a failure reply, by its code (DESIGN.md, "Errors"). */
const nextStep = (e: AllSourceError, url: string): string => {
  const d = e.details
  switch (e.code) {
    case 'WRONG_EXPECTED_VERSION':
      return `the stream is at version ${cellOf(d.actual)}, the request expected ${cellOf(d.expected)}: read it again (\`allsource read\`) and retry with --expected-version ${cellOf(d.actual)}`
    case 'UNAUTHORIZED':
      return 'the credential was not accepted for this request: check ALLSOURCE_TOKEN / the context\'s token, or run `allsource login`'
    case 'FORBIDDEN':
      return `your credential's role may not do this${d.rule !== undefined ? ` (policy rule ${cellOf(d.rule)})` : ''}: use a key with the right role, or ask a tenant admin`
    case 'QUOTA_EXCEEDED':
      return `${d.quota !== undefined ? `quota ${cellOf(d.quota)}` : 'a quota'}${d.limit !== undefined ? ` (limit ${cellOf(d.limit)})` : ''} reached: retry${typeof d.retryAfterMs === 'number' ? ` in ${Math.ceil(d.retryAfterMs / 1000)} s` : ' later'}, or ask the operator for a higher tier (\`allsource tenants update <tenant> --tier pro\`)`
    case 'TENANT_NOT_FOUND':
      return 'the tenant does not exist: the operator creates it with `allsource tenants create <tenant>`'
    case 'TENANT_SUSPENDED':
      return 'the tenant is suspended: the operator can reactivate it with `allsource tenants activate <tenant>`'
    case 'UNAVAILABLE':
      return /no AllSource processor is serving/.test(e.message)
        ? `no processor answered on ${url}: start one with \`npm start\` (or \`allsource serve\`)`
        : `try again${typeof d.retryAfterMs === 'number' ? ` in ${Math.ceil(d.retryAfterMs / 1000)} s` : ''}${d.commitId !== undefined ? ` with the same --commit-id ${cellOf(d.commitId)}` : ''}`
    case 'INVALID_ID':
      return 'ids: tenant 1–64 of A–Z a–z 0–9 _ -; stream 1–200 of A–Z a–z 0–9 _ - =; see `allsource help`'
    case 'NOT_FOUND':
    case 'BAD_REQUEST':
    case 'VALIDATION_FAILED':
    case 'TOO_LARGE':
    case 'INTERNAL':
      return ''
    default: {
      const never: never = e.code
      return never
    }
  }
}

const cellOf = (v: unknown): string => (typeof v === 'string' ? v : toJson(v))

/** The JSON error document of a failure reply: `{ error: { code, message, ...details } }`. */
export const errorBody = (e: AllSourceError) => ({ error: { code: e.code, message: e.message, ...e.details } })

/** Turns anything a command threw into a {@link CliError} that says what to do next. Never echoes a credential. */
export const explain = (e: unknown, url: string): CliError => {
  if (e instanceof CliError) return e
  if (e instanceof AllSourceError) {
    const serving = /^no AllSource processor is serving (.*)$/.exec(e.message)
    if (e.code === 'UNAVAILABLE' && serving !== null) return new CliError(`no processor answered on ${url} (${serving[1] ?? ''}): start one with \`npm start\` (or \`allsource serve\`)`, 1, errorBody(e))
    const next = nextStep(e, url)
    return new CliError(`${e.code}: ${e.message}${detailText(e.details)}${next === '' ? '' : `\n  ${next}`}`, 1, errorBody(e))
  }
  const msg = e instanceof Error ? e.message : String(e)
  if (e instanceof natsErrors.NoRespondersError || (e instanceof natsErrors.RequestError && e.isNoResponders()) || /no responders/i.test(msg)) {
    return new CliError(`no processor answered on ${url}: start one with \`npm start\` (or \`allsource serve\`)`, 1, { error: { code: 'UNAVAILABLE', message: 'no responders' } })
  }
  if (/permissions violation/i.test(msg)) {
    return new CliError(`the server refused this request for your credential (${msg}): tenant keys reach only their own tenant and role; use a key with the right role or the operator key`, 1, { error: { code: 'FORBIDDEN', message: msg } })
  }
  if (e instanceof natsErrors.TimeoutError || (e instanceof Error && e.cause instanceof natsErrors.TimeoutError) || /timeout/i.test(msg)) {
    return new CliError(`no answer from the processor on ${url} in time: check it is running (\`npm start\`) and not overloaded`, 1, { error: { code: 'UNAVAILABLE', message: 'timeout' } })
  }
  if (/jetstream is not enabled|jetstream not enabled/i.test(msg)) {
    return new CliError(`the NATS server at ${url} has no JetStream, so it is not AllSource's: start the processor with \`npm start\` (or \`allsource serve\`), or point --url / NATS_URL / the context at its server`)
  }
  if (/closed|disconnect/i.test(msg)) return new CliError(`the connection to ${url} was closed: ${msg}`)
  return new CliError(msg)
}
