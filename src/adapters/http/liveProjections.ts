import { keyMatches, type ProjectionLiveRequest } from '../../domain/reading/liveRequest.js'
import type { TopicChange } from '../nats/projections/topicSubscription.js'
import { closeOnFailure, toJson } from './liveEvents.js'
import type { LiveProjectionSource } from './liveSources.js'
import type { LiveSocket } from './liveSocket.js'

/** One change as a live message: `{ projection, tenant, key, state, offset }`, as on the projection topic. */
export const changeMessage = (c: TopicChange): string =>
  toJson({ projection: c.projection, tenant: c.tenant, key: c.key, state: c.state, offset: c.offset })

/**
 * Streams a projection's changes to `sock` (filtered by `key` or `prefix`) until the connection
 * ends; returns the function that stops it (call it when the connection ends).
 *
 * Without `fromOffset`: every change published from now on. With `fromOffset`: first the current
 * state of every key whose last change is at offset ≥ `fromOffset` (0 or 1: every key), read with
 * backpressure, then the changes published since the subscription opened, each key's only when
 * newer than what the catch-up sent for it, then live. A projection topic carries states, not
 * history: a client that resumes with `fromOffset = last offset + 1` gets each changed key's
 * latest state once, not every intermediate state.
 *
 * The topic cannot be paused, so a client that reads slower than changes arrive is dropped (close
 * 1008) once the socket, plus the changes held during the catch-up, holds more than
 * `maxBufferBytes`.
 */
export const pumpProjection = (sock: LiveSocket, source: LiveProjectionSource, r: ProjectionLiveRequest): (() => void) => {
  let held: { readonly change: TopicChange; readonly text: string }[] | undefined = r.fromOffset !== undefined ? [] : undefined
  let heldBytes = 0
  const sub = source.subscribe(r.tenant, r.projection, (change) => {
    if (!sock.open || !keyMatches(r, change.key) || (r.fromOffset !== undefined && change.offset < r.fromOffset)) return
    const text = changeMessage(change)
    if (held !== undefined) {
      held.push({ change, text })
      heldBytes += text.length
      if (sock.overBound(heldBytes)) sock.dropOverBound()
      return
    }
    sock.send(text)
    if (sock.overBound()) sock.dropOverBound()
  })
  const stop = (): void => {
    held = undefined
    sub.stop()
  }
  if (r.fromOffset === undefined) return stop
  const from = r.fromOffset

  ;(async () => {
    try {
      const keys = r.key !== undefined ? [r.key] : (await source.keys(r.projection, r.tenant)).filter((k) => keyMatches(r, k))
      const sentAt = new Map<string, number>()
      for (const key of keys) {
        if (!(await sock.ready())) return
        const entry = await source.get(r.projection, r.tenant, key)
        if (entry === undefined) continue
        sentAt.set(key, entry.offset)
        if (entry.offset >= from) sock.send(changeMessage({ projection: r.projection, tenant: r.tenant, key, state: entry.state, offset: entry.offset }))
      }
      const pending = held ?? []
      held = undefined
      heldBytes = 0
      for (const { change, text } of pending) {
        if ((sentAt.get(change.key) ?? -1) < change.offset) sock.send(text)
      }
      if (sock.overBound()) sock.dropOverBound()
    } catch (e) {
      closeOnFailure(sock, e)
    }
  })().catch(() => undefined)
  return stop
}
