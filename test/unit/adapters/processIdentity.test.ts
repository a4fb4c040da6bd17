import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { asProcessRef, processGone, thisProcess } from '../../../src/adapters/system/processIdentity.js'

describe('processIdentity: telling that a member on this host is gone', () => {
  it('names this process by boot and pid namespace, the same every call', () => {
    const self = thisProcess()
    expect(self?.pid).toBe(process.pid)
    expect(self?.host).toMatch(/^[0-9a-f-]{36}\/pid:\[\d+\]$/)
    expect(thisProcess()).toEqual(self)
  })

  it('a pid that exited on this host is gone; this process, a living one and one on another host are not', async () => {
    const host = thisProcess()?.host as string
    const child = spawn(process.execPath, ['-e', ''])
    await new Promise((r) => child.once('exit', r))
    expect(processGone({ host, pid: child.pid as number })).toBe(true)
    expect(processGone({ host, pid: process.pid })).toBe(false)
    expect(processGone({ host, pid: 1 })).toBe(false) // alive (EPERM or not, it exists)
    expect(processGone({ host: `other-boot/${host.split('/')[1]}`, pid: child.pid as number })).toBe(false)
  })

  it('reads a heartbeat\'s process field as untrusted input', () => {
    expect(asProcessRef({ host: 'h', pid: 12 })).toEqual({ host: 'h', pid: 12 })
    for (const bad of [undefined, null, 'h:12', { host: 'h' }, { host: 'h', pid: -1 }, { host: 'h', pid: 1.5 }, { host: 3, pid: 3 }, []]) expect(asProcessRef(bad)).toBeUndefined()
  })
})
