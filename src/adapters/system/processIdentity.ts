import { readFileSync, readlinkSync } from 'node:fs'

/**
 * A process as another process on the same machine can check it: `host` names the kernel boot and
 * the pid namespace it runs in, so a pid means the same process to everyone with the same `host`
 * (containers on one host share the boot id but not the pid namespace; two machines never share a
 * boot id).
 */
export interface ProcessRef {
  readonly host: string
  readonly pid: number
}

let cached: ProcessRef | null | undefined

/**
 * This process, or `undefined` where its host cannot be named (not Linux, or `/proc` unreadable):
 * nobody can then tell it is gone before its heartbeat ages out.
 */
export const thisProcess = (): ProcessRef | undefined => {
  if (cached === undefined) {
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
      const pidNamespace = readlinkSync('/proc/self/ns/pid')
      cached = boot === '' ? null : { host: `${boot}/${pidNamespace}`, pid: process.pid }
    } catch {
      cached = null
    }
  }
  return cached ?? undefined
}

/**
 * True only when `ref` is known to be gone: it ran on this host (same boot, same pid namespace) and
 * no process has its pid now. Unknown (another host, no `/proc`, a pid reused since) is `false`.
 */
export const processGone = (ref: ProcessRef): boolean => {
  const self = thisProcess()
  if (self === undefined || ref.host !== self.host || ref.pid === self.pid) return false
  try {
    process.kill(ref.pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** `value` as a {@link ProcessRef} when it is one (a heartbeat read from KV is untrusted input). */
export const asProcessRef = (value: unknown): ProcessRef | undefined => {
  if (typeof value !== 'object' || value === null) return undefined
  const { host, pid } = value as Record<string, unknown>
  return typeof host === 'string' && typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? { host, pid } : undefined
}
