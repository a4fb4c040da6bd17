import { describe, expect, it } from 'vitest'
import { lateTimerReporter } from '../../../src/adapters/nats/service/heartbeat.js'

describe('lateTimerReporter', () => {
  it('logs a timer later than its period, at most once per 10 s, and nothing for one on time', () => {
    const lines: string[] = []
    const report = lateTimerReporter('routing: heartbeat timer', 100, (l) => lines.push(l))
    report(100, 0) // not later than the period
    report(250.4, 1_000)
    report(900, 5_000) // within 10 s of the last line
    report(300, 11_001)
    expect(lines).toEqual(['routing: heartbeat timer 250 ms late (the event loop was busy or the process stopped)', 'routing: heartbeat timer 300 ms late (the event loop was busy or the process stopped)'])
  })
})
