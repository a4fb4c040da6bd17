// Types of scripts/setup.mjs (plain node, so it runs before any dependency is installed).
interface LockPackage {
  readonly version?: string
  readonly optional?: boolean
  readonly devOptional?: boolean
  readonly link?: boolean
}
interface Lockfile {
  readonly packages: Readonly<Record<string, LockPackage>>
}
export declare const MIN_NATS_SERVER: string
export declare const npmCiReason: (o: { readonly lock: Lockfile | undefined; readonly nodeModules: boolean; readonly installed: Lockfile | undefined }) => string | undefined
export declare const parseVersion: (output: string) => string | undefined
export declare const atLeast: (a: string, b: string) => boolean
export declare const natsServerCandidates: (env: NodeJS.ProcessEnv, root: string) => string[]
export declare const findNatsServer: (
  candidates: readonly string[],
  versionOf: (path: string) => string | undefined,
) => { readonly path: string; readonly version: string } | undefined
export declare const chromiumCandidates: (env: NodeJS.ProcessEnv) => string[]
export declare const plan: (o: {
  readonly env: NodeJS.ProcessEnv
  readonly npmCi: string | undefined
  readonly natsServer: { readonly path: string; readonly version: string } | undefined
  /** Whether the browser tests' chromium is wanted (`--browser`, from `pretest`). */
  readonly browser?: boolean
  /** Whether a chromium was found. */
  readonly chromium?: boolean
}) => Array<{ readonly step: 'npm ci' | 'nats-server' | 'chromium'; readonly why: string }>
