import { describe, expect, it } from 'vitest'
import { createShutdown, type ShutdownStep } from '../../../src/main/shutdown.js'

const run = (steps: ShutdownStep[]) => {
  const lines: string[] = []
  let resolveExit: (code: number) => void = () => undefined
  const exited = new Promise<number>((r) => (resolveExit = r))
  const exits: number[] = []
  const shutdown = createShutdown({
    steps: () => steps,
    log: (m) => lines.push(m),
    exit: (code) => {
      exits.push(code)
      resolveExit(code)
    },
  })
  return { shutdown, lines, exited, exits }
}

const never = () => new Promise<void>(() => undefined)

describe('ordered shutdown', () => {
  it('runs the steps one after another, then logs stopped and exits 0', async () => {
    const order: string[] = []
    const step = (name: string): ShutdownStep => ({ name, deadlineMs: 1_000, run: async () => void order.push(name) })
    const s = run([step('intake'), step('app'), step('nc'), step('server')])
    s.shutdown.signal('SIGINT')
    expect(await s.exited).toBe(0)
    expect(order).toEqual(['intake', 'app', 'nc', 'server'])
    expect(s.lines).toEqual(['stopped'])
  })

  it('goes on past a step that fails or hangs beyond its deadline, and exits 1', async () => {
    const ran: string[] = []
    const s = run([
      { name: 'hangs', deadlineMs: 20, run: never },
      { name: 'fails', deadlineMs: 1_000, run: () => Promise.reject(new Error('connection disconnected')) },
      { name: 'last', deadlineMs: 1_000, run: async () => void ran.push('last') },
    ])
    s.shutdown.signal('SIGTERM')
    expect(await s.exited).toBe(1)
    expect(ran).toEqual(['last'])
    expect(s.lines).toEqual([
      'shutdown: hangs did not finish within 20 ms of the signal; going on',
      'shutdown: fails failed: connection disconnected; going on',
      'stopped',
    ])
  })

  it('exits at once on a second signal', async () => {
    const s = run([{ name: 'hangs', deadlineMs: 60_000, run: never }])
    s.shutdown.signal('SIGINT')
    expect(s.shutdown.stopping).toBe(true)
    s.shutdown.signal('SIGINT')
    expect(await s.exited).toBe(1)
    expect(s.lines).toEqual(['SIGINT again: exiting now, without waiting'])
  })
})
