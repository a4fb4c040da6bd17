import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import type { CorruptTenantRecord } from '../../application/tenants/ports.js'
import { Tenant } from '../../domain/tenants/tenant.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A tenant record as stored: UTF-8 JSON of its codec's output. */
export const encodeTenantJson = (rec: Tenant): Uint8Array => encoder.encode(JSON.stringify(Tenant.encode(rec)))

const describe = (errors: t.Errors): string => {
  const first = errors[0]
  if (first === undefined) return 'invalid tenant record'
  const path = first.context
    .map((c) => c.key)
    // Union members show up as "0", "1": not part of the record's path (it has no arrays).
    .filter((k) => k !== '' && !/^\d+$/.test(k))
    .join('.')
  const expected = first.context[first.context.length - 1]?.type.name ?? 'a tenant record'
  return first.message ?? `${path === '' ? 'the record' : path} is not ${expected}`
}

/**
 * Decodes a stored tenant record (`revision`: the value's), checking it against the `Tenant` codec and that it is the
 * record of `key`. Never throws: bytes that are not UTF-8, not JSON or not a valid record are a
 * {@link CorruptTenantRecord} saying why.
 */
export const decodeTenantJson = (key: string, revision: number, bytes: Uint8Array): E.Either<CorruptTenantRecord, Tenant> => {
  const corrupt = (message: string): E.Either<CorruptTenantRecord, Tenant> => E.left({ _tag: 'CorruptTenantRecord', tenant: key, message, revision })
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (e) {
    return corrupt(`not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  const r = Tenant.decode(json)
  if (E.isLeft(r)) return corrupt(describe(r.left))
  return r.right.tenant === key ? r : corrupt(`the record is tenant ${r.right.tenant}, stored under ${key}`)
}
