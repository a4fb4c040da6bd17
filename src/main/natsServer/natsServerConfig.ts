import { subjects } from '../../adapters/nats/subjects.js'
/** What {@link deriveNatsConfig} must make a nats-server configuration say. */
export interface ConfigOverrides {
  /** Absolute JetStream store_dir that must win over the file's. */
  readonly storeDir?: string
  /** `sync_interval: always` inside the jetstream block. */
  readonly syncAlways?: boolean
  /** Configuration text appended at the end (the auth block of the embedded server). */
  readonly append?: string
}

/** The result: the text to run with, and whether `-sd storeDir` must still be passed. */
export interface DerivedConfig {
  readonly text: string
  /** True when the text had no store_dir line, so the store directory goes on the command line. */
  readonly storeDirAsFlag: boolean
}

const STORE_DIR = /^(\s*)store_dir\s*[:=].*$/m
const SYNC_INTERVAL = /^(\s*)sync_interval\s*[:=].*$/m
const JETSTREAM_BLOCK = /^\s*jetstream\s*[:=]?\s*\{[^\n]*$/m

/**
 * Rewrites a nats-server configuration so `overrides` hold. Needed because nats-server 2.10
 * refuses `-sd` when the file already sets `store_dir` ("Duplicate 'store_dir' configuration")
 * and has no flag for `sync_interval`. Pure; handles one `jetstream { … }` block in block form
 * and uncommented `key: value` lines, which is what this project's configs use.
 */
export const deriveNatsConfig = (text: string, overrides: ConfigOverrides): DerivedConfig => {
  let out = text
  let storeDirAsFlag = false
  if (overrides.storeDir !== undefined) {
    const line = `store_dir: ${JSON.stringify(overrides.storeDir)}`
    if (STORE_DIR.test(out)) out = out.replace(STORE_DIR, (_m, indent: string) => `${indent}${line}`)
    else storeDirAsFlag = true
  }
  if (overrides.syncAlways === true) {
    if (SYNC_INTERVAL.test(out)) out = out.replace(SYNC_INTERVAL, (_m, indent: string) => `${indent}sync_interval: always`)
    else if (JETSTREAM_BLOCK.test(out)) out = out.replace(JETSTREAM_BLOCK, (m) => `${m}\n  sync_interval: always`)
    else out = `${out}\njetstream {\n  sync_interval: always\n}\n`
  }
  if (overrides.append !== undefined && overrides.append !== '') out = `${out}\n${overrides.append}\n`
  return { text: out, storeDirAsFlag }
}

/** The `store_dir` a configuration sets (unquoted), or undefined. Best effort, for reporting. */
export const configuredStoreDir = (text: string): string | undefined => {
  const m = /^\s*store_dir\s*[:=]\s*(?:"([^"]*)"|'([^']*)'|([^\s#;]+))/m.exec(text)
  return m === null ? undefined : (m[1] ?? m[2] ?? m[3])
}

/**
 * The top-level `mappings` block that routes appends by partition (docs/operations.md, "Several
 * processors"), for the default account; auth mode puts the same mapping in its application
 * account (`serverAuthBlock`). `partitions` must equal the processors' `ALLSOURCE_PARTITIONS`.
 */
export const appendMappingConfig = (prefix: string, partitions: number): string => {
  const m = subjects(prefix).appendMapping(partitions)
  return `mappings: {\n  "${m.source}": "${m.destination}"\n}`
}
