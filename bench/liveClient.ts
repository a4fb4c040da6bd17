import WebSocket from 'ws'

/**
 * The reader of the live scenario, as a separate process: opens one live event stream and parses
 * every message (JSON.parse, as any client does) until `count` have arrived, checking offset
 * order. Prints one JSON line: count, ms from the socket's open to the last message, and this
 * process's CPU microseconds.
 */
const [url, countArg] = process.argv.slice(2)
const count = Number(countArg)
const ws = new WebSocket(url as string)
let n = 0
let last = 0
let t0 = 0
const c0 = process.cpuUsage()
ws.on('open', () => (t0 = performance.now()))
ws.on('message', (data) => {
  const e = JSON.parse(String(data)) as { offset: number }
  if (e.offset < last) throw new Error(`offset ${e.offset} after ${last}`)
  last = e.offset
  if (++n === count) {
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(c0)
    process.stdout.write(`${JSON.stringify({ count: n, ms, cpuMicros: cpu.user + cpu.system })}\n`)
    ws.close()
  }
})
ws.on('close', (code, reason) => {
  if (n < count) {
    process.stderr.write(`closed after ${n} of ${count}: ${code} ${String(reason)}\n`)
    process.exit(1)
  }
})
