/**
 * A secret value (an API key, its secret part) that cannot leak by accident: `JSON.stringify`,
 * `String(…)`, template literals and `util.inspect` all print `[redacted]`. The value lives in a
 * closure, so no enumeration or serialisation of the object reaches it; only {@link Secret.reveal}
 * does, and only the code that must send or hash the value should call it.
 */
export interface Secret {
  /** The value itself. Call it only where the value must leave: the one reply that shows a new key, or the hash. */
  readonly reveal: () => string
  readonly toString: () => string
  readonly toJSON: () => string
}

export const REDACTED = '[redacted]'

const inspectCustom = Symbol.for('nodejs.util.inspect.custom')

export const secret = (value: string): Secret =>
  Object.freeze({
    reveal: () => value,
    toString: () => REDACTED,
    toJSON: () => REDACTED,
    [inspectCustom]: () => REDACTED,
  })
