import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { afterAll, describe, expect, it } from 'vitest'
import { compareVersions, findNatsServer, projectRoot } from '../../src/main/natsServer/findNatsServer.js'
import { freePort, launchNatsServer } from '../../src/main/natsServer/launchNatsServer.js'
import { startNatsServer, withNatsServer } from '../support/natsServer.js'
import { alive } from '../support/alive.js'


const tmp: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'allsource-test-'))
  tmp.push(d)
  return d
}
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })))

describe('findNatsServer', () => {
  it('finds a nats-server of at least 2.10', async () => {
    const found = await findNatsServer()
    expect(compareVersions(found.version, '2.10.0')).toBeGreaterThanOrEqual(0)
    expect(existsSync(found.path)).toBe(true)
  })

  it('skips older servers and says how to install one', async () => {
    const err = await findNatsServer({ env: { PATH: tempDir() }, root: tempDir(), minVersion: '99.0.0' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    const msg = (err as Error).message
    expect(msg).toContain('No nats-server >= 99.0.0 found')
    expect(msg).toContain('npm run nats-server')
    expect(msg).toContain('NATS_SERVER_BIN')
    if (existsSync('/usr/sbin/nats-server')) expect(msg).toMatch(/\/usr\/sbin\/nats-server \(PATH\): v[\d.]+ is older than 99\.0\.0/)
  })
})

describe('launchNatsServer', () => {
  it('starts on a free port with its own store, answers JetStream, and stops only its own pid', async () => {
    const storeDir = tempDir()
    const server = await launchNatsServer({ port: 0, storeDir })
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`)
    expect(server.port).not.toBe(4222)
    expect(alive(server.pid)).toBe(true)
    const nc = await connect({ servers: server.url })
    const info = await (await jetstreamManager(nc)).getAccountInfo()
    expect(info.api.total).toBeGreaterThanOrEqual(0)
    await nc.close()
    expect(existsSync(join(storeDir, 'jetstream'))).toBe(true)
    await server.stop()
    expect(alive(server.pid)).toBe(false)
    await server.stop() // idempotent
  })

  it('runs the project nats.conf on a free port with the store moved out of ./data', async () => {
    const storeDir = tempDir()
    const server = await launchNatsServer({ configFile: join(projectRoot(), 'nats.conf'), port: 0, storeDir })
    try {
      const nc = await connect({ servers: server.url })
      expect(nc.info?.server_name).toBe('allsource-embedded')
      expect(nc.info?.max_payload).toBe(1024 * 1024)
      await (await jetstreamManager(nc)).streams.add({ name: 'PROBE', subjects: ['probe.>'] })
      await nc.close()
      expect(server.storeDir).toBe(storeDir)
      expect(existsSync(join(storeDir, 'jetstream', '$G', 'streams', 'PROBE'))).toBe(true)
      expect(server.output()).toContain(`Store Directory: "${join(storeDir, 'jetstream')}"`)
    } finally {
      await server.stop()
    }
  })

  it("uses the config file's port when none is given", async () => {
    const dir = tempDir()
    const port = await freePort()
    writeFileSync(join(dir, 'nats.conf'), `listen: 127.0.0.1:${port}\njetstream {\n  store_dir: "./store"\n}\n`)
    const server = await launchNatsServer({ configFile: join(dir, 'nats.conf'), syncAlways: true })
    try {
      expect(server.port).toBe(port)
      expect(server.storeDir).toBe(join(dir, 'store'))
      expect(existsSync(join(dir, 'store', 'jetstream'))).toBe(true)
    } finally {
      await server.stop()
    }
  })

  it('rejects with the server output when the server cannot start, leaving nothing behind', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'bad.conf'), 'max_payload: {{{\n')
    await expect(launchNatsServer({ configFile: join(dir, 'bad.conf'), port: 0 })).rejects.toThrow(/exited with 1 while starting[\s\S]*bad\.conf/)
  })

  it('never takes another server on its port for itself: it fails instead of reporting a pid that does not serve', async () => {
    const other = await startNatsServer()
    try {
      const err = await launchNatsServer({ port: other.port, storeDir: join(tempDir(), 'store') }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      expect((err as Error).message).toMatch(/address already in use|exited/i)
    } finally {
      await other.stop()
    }
  })

  it('runs the server in its own process group when asked (the embedded server: a Ctrl-C reaches only the processor)', async () => {
    const server = await launchNatsServer({ storeDir: join(tempDir(), 'store'), ownProcessGroup: true })
    try {
      // signal 0 to the group: it exists, and its leader is the server
      expect(() => process.kill(-server.pid, 0)).not.toThrow()
    } finally {
      await server.stop()
    }
  })

  it('can be killed (crash tests) and stopped afterwards', async () => {
    const server = await launchNatsServer({ storeDir: tempDir() })
    server.kill('SIGKILL')
    await server.stop()
    expect(alive(server.pid)).toBe(false)
  })
})

describe('startNatsServer (test harness)', () => {
  it('honours a config string and removes its temp dir on stop', async () => {
    const server = await startNatsServer({ config: 'max_payload: 2048' })
    expect(server.dir.startsWith(join(tmpdir(), 'allsource-test-'))).toBe(true)
    const nc = await connect({ servers: server.url })
    expect(nc.info?.max_payload).toBe(2048)
    await nc.close()
    await server.stop()
    expect(existsSync(server.dir)).toBe(false)
    expect(alive(server.pid)).toBe(false)
  })

  it('starts with sync_interval: always', async () => {
    const server = await startNatsServer({ syncAlways: true, config: 'jetstream {\n  max_file_store: 1GB\n}' })
    try {
      const nc = await connect({ servers: server.url })
      await (await jetstreamManager(nc)).getAccountInfo()
      await nc.close()
    } finally {
      await server.stop()
    }
  })

  describe('withNatsServer', () => {
    const server = withNatsServer()
    it('provides a running server to the tests of the block', async () => {
      const nc = await connect({ servers: server().url })
      expect(nc.info?.jetstream).toBe(true)
      await nc.close()
    })
  })
})
