import { createInbox, errors as natsErrors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import { unroutedSubject } from '../subjects.js'

/** One request at a time per call, many calls at once; answers with the reply or rejects. */
export interface Requester {
  /**
   * Publishes `data` to `subject` with a reply subject of its own and resolves with the first
   * reply. Rejects as `nc.request` does: `NoRespondersError` (no subscriber), `TimeoutError`
   * (no reply within `timeoutMs`), `ClosedConnectionError`, or whatever `publish` throws.
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Msg>
}

interface Pending {
  readonly subject: string
  readonly resolve: (m: Msg) => void
  readonly reject: (e: Error) => void
  readonly timer: NodeJS.Timeout
}

/**
 * Requests over one inbox subscription (`<inbox>.*`, under the connection's `inboxPrefix`),
 * replies matched by a token, as `PipelinedPublisher` matches acks. Same wire as `nc.request`
 * (one PUB with a reply subject, one reply), without its per-request bookkeeping: nats.js 3
 * builds two or three `Error`s with stack traces per request, even a successful one (the request
 * is "cancelled" after it resolves), which cost ~0.1 ms of CPU on the critical path of a
 * sequential client (docs/performance.md, "One hot stream through the service").
 */
export const createInboxRequester = (nc: NatsConnection): Requester => {
  // Auth mode: a tenant connection may subscribe only under its `inboxPrefix` (natsGrants.ts).
  const prefix = (nc as { readonly options?: { readonly inboxPrefix?: string } }).options?.inboxPrefix
  const pending = new Map<string, Pending>()
  let sub: Subscription | undefined
  let inbox = ''
  let next = 0

  const failAll = (e: Error): void => {
    for (const p of pending.values()) {
      clearTimeout(p.timer)
      p.reject(e)
    }
    pending.clear()
  }

  /**
   * NATS refuses a publish outside the connection's permissions with a protocol error naming the
   * subject, which nats.js reports on `status()` (and ties to an `nc.request` itself). The oldest
   * pending request to that subject fails with it, as `nc.request` would, instead of timing out
   * (a tenant connection in auth mode: docs/security.md). One watch per requester, ended with
   * the connection.
   */
  let watching = false
  const watchRefusals = (): void => {
    if (watching) return
    watching = true
    const watch = async (): Promise<void> => {
      for await (const s of nc.status()) {
        if (s.type !== 'error' || !(s.error instanceof natsErrors.PermissionViolationError) || s.error.operation !== 'publish') continue
        for (const [token, p] of pending) {
          // A refused append names the subject the server's partition mapping made of it.
          if (p.subject !== s.error.subject && p.subject !== unroutedSubject(s.error.subject)) continue
          pending.delete(token)
          clearTimeout(p.timer)
          p.reject(s.error)
          break
        }
      }
    }
    watch().catch(() => undefined)
  }

  const open = (): void => {
    inbox = createInbox(prefix)
    const root = `${inbox}.`
    const s = nc.subscribe(`${inbox}.*`, {
      callback: (err, msg) => {
        if (err !== null) return failAll(err)
        const token = msg.subject.slice(root.length)
        const p = pending.get(token)
        if (p === undefined) return // a reply after its timeout
        pending.delete(token)
        clearTimeout(p.timer)
        if (msg.data.length === 0 && msg.headers?.code === 503) p.reject(new natsErrors.NoRespondersError(p.subject))
        else p.resolve(msg)
      },
    })
    sub = s
    watchRefusals()
    const ended = (): void => {
      if (sub === s) sub = undefined
      failAll(new natsErrors.ClosedConnectionError())
    }
    s.closed.then(ended, ended)
  }

  return {
    request(subject, data, timeoutMs) {
      if (sub === undefined) {
        if (nc.isClosed()) return Promise.reject(new natsErrors.ClosedConnectionError())
        open()
      }
      const token = (next++).toString(36)
      return new Promise<Msg>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (pending.delete(token)) reject(new natsErrors.TimeoutError())
        }, timeoutMs)
        pending.set(token, { subject, resolve, reject, timer })
        try {
          nc.publish(subject, data, { reply: `${inbox}.${token}` })
        } catch (e) {
          pending.delete(token)
          clearTimeout(timer)
          reject(e instanceof Error ? e : new Error(String(e)))
        }
      })
    },
  }
}
