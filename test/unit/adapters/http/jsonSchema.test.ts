import * as t from 'io-ts'
import { describe, expect, it } from 'vitest'
import { annotate, toJsonSchema } from '../../../../src/adapters/http/jsonSchema.js'
import { AppendBody } from '../../../../src/adapters/http/schemas.js'
import { Tenant } from '../../../../src/domain/tenants/tenant.js'
import { ApiKeyView } from '../../../../src/domain/security/apiKey.js'

describe('toJsonSchema', () => {
  it('converts each codec kind the project uses', () => {
    const Brand = t.brand(t.string, (s): s is t.Branded<string, { readonly B: unique symbol }> => s.length > 0, 'B')
    annotate(Brand, { minLength: 1 })
    const codec = t.intersection([
      t.type({ a: t.string, n: t.number, i: t.Int, b: t.boolean, z: t.null, u: t.unknown, lit: t.literal('x'), k: t.keyof({ p: null, q: null }), arr: t.array(t.number), ro: t.readonlyArray(t.string), rec: t.record(t.string, t.number), id: Brand }),
      t.partial({ opt: t.union([t.literal(1), t.string]), r: t.readonly(t.type({ x: t.string })), ex: t.exact(t.type({ y: t.number })), obj: t.UnknownRecord }),
    ])
    expect(toJsonSchema(codec)).toEqual({
      type: 'object',
      properties: {
        a: { type: 'string' },
        n: { type: 'number' },
        i: { type: 'integer' },
        b: { type: 'boolean' },
        z: { type: 'null' },
        u: {},
        lit: { const: 'x' },
        k: { type: 'string', enum: ['p', 'q'] },
        arr: { type: 'array', items: { type: 'number' } },
        ro: { type: 'array', items: { type: 'string' } },
        rec: { type: 'object', additionalProperties: { type: 'number' } },
        id: { type: 'string', title: 'B', minLength: 1 },
        opt: { anyOf: [{ const: 1 }, { type: 'string' }] },
        r: { type: 'object', properties: { x: { type: 'string' } }, required: ['x'] },
        ex: { type: 'object', properties: { y: { type: 'number' } }, required: ['y'], additionalProperties: false },
        obj: { type: 'object' },
      },
      required: ['a', 'n', 'i', 'b', 'z', 'u', 'lit', 'k', 'arr', 'ro', 'rec', 'id'],
    })
  })

  it('documents an unknown kind as any value with its name, never throws', () => {
    const custom = new t.Type<string>('Custom', t.string.is, t.string.validate, t.identity)
    expect(toJsonSchema(custom)).toEqual({ description: 'Custom' })
  })

  it('gives the append body its fields and the id patterns, and the domain records their closed shapes', () => {
    const s = toJsonSchema(AppendBody) as { properties: Record<string, { items?: { properties: Record<string, { pattern?: string }> } }>; required: string[] }
    expect(Object.keys(s.properties)).toEqual(['events', 'expectedVersion', 'commitId'])
    expect(s.required).toEqual(['events'])
    expect(s.properties.events?.items?.properties.type?.pattern).toBe('^[A-Za-z][A-Za-z0-9_.:-]{0,199}$')
    expect(toJsonSchema(Tenant)).toMatchObject({ type: 'object', required: expect.arrayContaining(['tenant', 'status', 'tier', 'quotas', 'createdAt']) })
    expect(toJsonSchema(ApiKeyView)).toMatchObject({ type: 'object', additionalProperties: false })
  })
})
