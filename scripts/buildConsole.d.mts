// Types of scripts/buildConsole.mjs (plain node, run by `prestart`).
export declare const CONSOLE_SOURCE: string
export declare const CONSOLE_OUT: string
export declare const CONSOLE_FINGERPRINT: string
export declare const CONSOLE_FILES: readonly string[]
export declare const consoleFingerprint: (root: string) => string
export declare const consoleStaleReason: (root: string, force?: boolean) => string | undefined
export declare const buildConsole: (root: string) => Promise<void>
export declare const buildConsoleIfStale: (root: string, force?: boolean) => Promise<boolean>
