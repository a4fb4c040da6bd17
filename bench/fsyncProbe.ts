import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshServer } from './scenarios/common.js'
import { rawLimit } from './scenarios/append.js'
import { rawBatches, rawHot, rawHotBatches } from './scenarios/durable.js'

/**
 * How many fsyncs nats-server makes per stored message with `sync_interval: always`, for raw
 * single publishes and for atomic batches (docs/performance.md, "Durable mode"). Starts its own
 * server, attaches `strace -f -c` to that server's pid for the measured run only, and prints the
 * rate and the fsync/fdatasync calls per message. Needs strace and ptrace rights over a child.
 *
 *   npx tsx bench/fsyncProbe.ts single|batch<size>|hot|hotbatch<size> [events]   (e.g. batch100, hotbatch10)
 */
const mode = process.argv[2] ?? 'single'
const events = Number(process.argv[3] ?? 2_000)
const streams = Number(process.env.STREAMS ?? 100)

const b = await freshServer(true)
const dir = mkdtempSync(join(tmpdir(), 'allsource-fsync-'))
const out = join(dir, 'strace.txt')
const strace = spawn('strace', [...(process.env.STRACE_RAW === '1' ? ['-f', '-e', 'trace=fsync,fdatasync,pwrite64,write,openat,renameat,unlinkat'] : ['-f', '-c', '-e', 'trace=fsync,fdatasync,sync_file_range,msync']), '-o', out, '-p', String(b.server.pid)], { stdio: 'ignore' })
await new Promise((r) => setTimeout(r, 500)) // let strace attach to every thread
let rate: number
try {
  rate =
    mode === 'single'
      ? await rawLimit(b, events, streams)
      : mode.startsWith('batch')
        ? await rawBatches(b, events, streams, Number(mode.slice(5)))
        : mode === 'hot'
          ? await rawHot(b, events)
          : await rawHotBatches(b, events, Number(mode.slice(8)))
} finally {
  strace.kill('SIGINT')
  await new Promise((r) => strace.once('close', r))
  await b.stop()
}
const text = readFileSync(out, 'utf8')
rmSync(dir, { recursive: true, force: true })
const calls = [...text.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync|sync_file_range|msync)\s*$/gm)].reduce((n, m) => n + Number(m[1]), 0)
console.log(JSON.stringify({ mode, events, eventsPerSecond: Math.round(rate), syncCalls: calls, syncsPerEvent: +(calls / events).toFixed(3) }))
console.log(text.trim())
