import type * as t from 'io-ts'

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = { readonly [k: string]: unknown }

/**
 * Extra schema facts a codec cannot tell (a brand's pattern, a range), attached to the codec
 * object itself; {@link toJsonSchema} merges them into the codec's schema.
 */
const annotations = new WeakMap<t.Mixed, JsonSchema>()

/** Attaches `extra` (e.g. `{ pattern, maxLength }`) to `codec`'s JSON Schema; returns the codec. */
export const annotate = <C extends t.Mixed>(codec: C, extra: JsonSchema): C => {
  annotations.set(codec, { ...annotations.get(codec), ...extra })
  return codec
}

interface Tagged {
  readonly _tag?: string
  readonly name: string
}

const literalSchema = (value: unknown): JsonSchema => ({ const: value })

/**
 * The JSON Schema of an io-ts codec, for the kinds this project uses: `type` (required
 * properties), `partial`, `intersection` (`allOf`), `union` (`anyOf`), `literal` (`const`),
 * `keyof` (`enum`), `array`/`readonlyArray`, `record` (`additionalProperties`), `readonly`,
 * `exact`/`strict` (closed objects), branded refinements (the base schema, titled by the brand,
 * plus any {@link annotate}d facts), `string`, `number`, `Int`, `boolean`, `null`, `unknown`,
 * `UnknownRecord`, `UnknownArray`. A kind it does not know gives `{}` (any value) with the codec's
 * name as `description`, never a throw: the schema documents; the codec still decides.
 */
export const toJsonSchema = (codec: t.Mixed): JsonSchema => {
  const extra = annotations.get(codec)
  const base = convert(codec)
  return extra === undefined ? base : { ...base, ...extra }
}

const convert = (codec: t.Mixed): JsonSchema => {
  const c = codec as unknown as Tagged & Record<string, unknown>
  switch (c._tag) {
    case 'StringType':
      return { type: 'string' }
    case 'NumberType':
      return { type: 'number' }
    case 'BooleanType':
      return { type: 'boolean' }
    case 'NullType':
      return { type: 'null' }
    case 'UnknownType':
    case 'AnyType':
      return {}
    case 'UnknownRecordType':
    case 'AnyDictionaryType':
      return { type: 'object' }
    case 'UnknownArrayType':
    case 'AnyArrayType':
      return { type: 'array' }
    case 'LiteralType':
      return literalSchema(c.value)
    case 'KeyofType':
      return { type: 'string', enum: Object.keys(c.keys as object) }
    case 'InterfaceType':
    case 'PartialType': {
      const props = c.props as Record<string, t.Mixed>
      const properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toJsonSchema(v)]))
      return c._tag === 'InterfaceType' ? { type: 'object', properties, required: Object.keys(props) } : { type: 'object', properties }
    }
    case 'ExactType': {
      const inner = toJsonSchema(c.type as t.Mixed)
      return closeObject(inner)
    }
    case 'IntersectionType':
      return mergeAll((c.types as t.Mixed[]).map(toJsonSchema))
    case 'UnionType':
      return { anyOf: (c.types as t.Mixed[]).map(toJsonSchema) }
    case 'ArrayType':
    case 'ReadonlyArrayType':
      return { type: 'array', items: toJsonSchema(c.type as t.Mixed) }
    case 'DictionaryType':
      return { type: 'object', additionalProperties: toJsonSchema(c.codomain as t.Mixed) }
    case 'ReadonlyType':
      return toJsonSchema(c.type as t.Mixed)
    case 'RefinementType': {
      if (c.name === 'Int') return { type: 'integer' }
      return { ...toJsonSchema(c.type as t.Mixed), title: c.name }
    }
    default:
      return { description: c.name }
  }
}

/**
 * Intersections of object schemas become one object schema (properties merged, required joined),
 * which reads better in documentation than `allOf` and validates the same; anything else is `allOf`.
 */
const mergeAll = (schemas: readonly JsonSchema[]): JsonSchema => {
  if (schemas.every((s) => s.type === 'object' && s.additionalProperties === undefined)) {
    const properties = Object.assign({}, ...schemas.map((s) => s.properties ?? {})) as Record<string, JsonSchema>
    const required = schemas.flatMap((s) => (s.required as string[] | undefined) ?? [])
    return required.length > 0 ? { type: 'object', properties, required } : { type: 'object', properties }
  }
  return { allOf: schemas }
}

const closeObject = (s: JsonSchema): JsonSchema => (s.type === 'object' ? { ...s, additionalProperties: false } : s)
