import type { WebSocket } from 'ws'

/** Bounds of one live connection (docs/http-live.md, "Slow clients"). */
export interface LiveLimits {
  /**
   * Most bytes a connection may hold unsent (`bufferedAmount`: what the socket has not yet handed
   * to the kernel, plus anything a live stream holds back). Past it the client is dropped: close
   * 1008 `slow consumer: buffer over 8 MiB`. Default 8 MiB.
   */
  readonly maxBufferBytes: number
  /** The event stream reads the log on only while the socket holds less than this (backpressure). Default 1 MiB. */
  readonly lowWaterBytes: number
  /**
   * A connection that holds unsent data and has written nothing for this long is dropped:
   * close 1008 `slow consumer: nothing read for 60 s`. Default 60 s.
   */
  readonly stallMs: number
  /**
   * A WebSocket ping goes out this often; a connection with nothing unsent that has not answered
   * the previous ping is cut (its peer is gone). Default 30 s.
   */
  readonly heartbeatMs: number
}

export const defaultLiveLimits: LiveLimits = { maxBufferBytes: 8 * 1024 * 1024, lowWaterBytes: 1024 * 1024, stallMs: 60_000, heartbeatMs: 30_000 }

/** Close codes a live stream ends with (RFC 6455): 1001 going away, 1008 policy (slow consumer), 1011 internal, 1013 try again later. */
export const CLOSE = { goingAway: 1001, policy: 1008, internal: 1011, tryAgainLater: 1013 } as const

/** A byte count as a close reason says it: `8 MiB`, `256 KiB`, else `1000 bytes`. */
export const sizeText = (n: number): string =>
  n >= 1 << 20 && n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : n >= 1 << 10 && n % (1 << 10) === 0 ? `${n / (1 << 10)} KiB` : `${n} bytes`

/** One live connection's outgoing side: sends, backpressure, the buffer bound, stall and heartbeat. */
export interface LiveSocket {
  /** Sends one JSON message (no-op once closed). Never blocks: check {@link overBound} and {@link ready}. */
  send(text: string): void
  /** Bytes held unsent now. */
  readonly buffered: number
  /** Whether the connection holds more than `maxBufferBytes` (plus `extra`, bytes the stream holds back). */
  overBound(extra?: number): boolean
  /** Resolves true once less than `lowWaterBytes` is held unsent, false if the connection closes first. */
  ready(): Promise<boolean>
  readonly open: boolean
  /** Closes with a code and a reason (≤ 123 bytes) once; later calls do nothing. */
  close(code: number, reason: string): void
  /** Drops a slow client: close 1008 with the bound it passed. */
  dropOverBound(): void
  /** Messages sent, and the most bytes held unsent at once (for tests and metrics). */
  readonly stats: { readonly sent: number; readonly peakBuffered: number }
}

/**
 * Wraps a server-side `ws` socket. `onEnd` runs once when the connection ends, however it ends
 * (our close, the client's, a cut), so the stream behind it is stopped there; `onDrop` runs when
 * it is dropped as a slow consumer (close 1008).
 */
export const liveSocket = (ws: WebSocket, limits: LiveLimits, hooks: { readonly onEnd: () => void; readonly onDrop?: () => void }): LiveSocket => {
  let open = true
  let sent = 0
  let peak = 0
  let waiter: ((ok: boolean) => void) | undefined
  let pong = true
  let stall: NodeJS.Timeout | undefined

  const end = (): void => {
    if (stall !== undefined) clearTimeout(stall)
    stall = undefined
    clearInterval(heartbeat)
    const w = waiter
    waiter = undefined
    w?.(false)
    if (open) {
      open = false
      hooks.onEnd()
    }
  }

  const close = (code: number, reason: string): void => {
    if (!open) return
    if (code === CLOSE.policy) hooks.onDrop?.()
    try {
      ws.close(code, reason)
    } catch {
      ws.terminate()
    }
    end()
  }

  const dropStalled = (): void => close(CLOSE.policy, `slow consumer: nothing read for ${Math.round(limits.stallMs / 1000)} s`)

  /** A frame went out: the client is reading. Wakes a waiting stream, and restarts or clears the stall clock. */
  const written = (): void => {
    if (!open) return
    const b = ws.bufferedAmount
    if (b === 0 && stall !== undefined) {
      clearTimeout(stall)
      stall = undefined
    } else stall?.refresh()
    if (waiter !== undefined && b < limits.lowWaterBytes) {
      const w = waiter
      waiter = undefined
      w(true)
    }
  }

  // Messages sent in one turn of the event loop go out in one write (one syscall, not one each):
  // the socket is corked at the first and uncorked after the turn's I/O. `_socket` is ws's
  // underlying net.Socket (a stable field of ws 8).
  const raw = (ws as unknown as { readonly _socket?: { cork(): void; uncork(): void } })._socket
  let corked = false
  const uncork = (): void => {
    corked = false
    raw?.uncork()
  }

  const heartbeat = setInterval(() => {
    if (!open) return
    if (!pong) {
      // Unsent data means the stall clock is running; only an idle, silent peer is cut here.
      if (ws.bufferedAmount === 0) {
        ws.terminate()
        end()
      }
      return
    }
    pong = false
    ws.ping()
  }, limits.heartbeatMs)
  heartbeat.unref()
  ws.on('pong', () => (pong = true))
  ws.on('close', end)
  ws.on('error', end)

  return {
    send(text) {
      if (!open) return
      if (!corked && raw !== undefined) {
        corked = true
        raw.cork()
        setImmediate(uncork)
      }
      ws.send(text, { binary: false }, written)
      sent++
      const b = ws.bufferedAmount
      if (b > peak) peak = b
      if (b > 0 && stall === undefined) {
        stall = setTimeout(dropStalled, limits.stallMs)
        stall.unref()
      }
    },
    get buffered() {
      return ws.bufferedAmount
    },
    overBound: (extra = 0) => ws.bufferedAmount + extra > limits.maxBufferBytes,
    ready() {
      if (!open) return Promise.resolve(false)
      if (ws.bufferedAmount < limits.lowWaterBytes) return Promise.resolve(true)
      return new Promise<boolean>((resolve) => (waiter = resolve))
    },
    get open() {
      return open
    },
    close,
    dropOverBound: () => close(CLOSE.policy, `slow consumer: buffer over ${sizeText(limits.maxBufferBytes)}`),
    get stats() {
      return { sent, peakBuffered: peak }
    },
  }
}
