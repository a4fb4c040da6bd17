/**
 * A value now, or later. The append path's checks answer from memory almost always; returning the
 * value itself rather than a resolved promise spares each check a promise, a microtask hop and
 * the garbage (measured on the auth-mode append path: `docs/benchmarks.md`, scenario 12).
 */
export type MaybePromise<T> = T | Promise<T>

/** Whether `v` is still to come (a thenable). */
export const isPending = <T>(v: MaybePromise<T>): v is Promise<T> => typeof (v as { then?: unknown } | null)?.then === 'function'
