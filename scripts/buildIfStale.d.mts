// Types of scripts/buildIfStale.mjs (plain node, run by `prestart` before the build exists).
export declare const INPUT_DIRS: readonly string[]
export declare const INPUT_FILES: readonly string[]
export declare const FINGERPRINT_FILE: string
export declare const ENTRY: string
export declare const fingerprint: (root: string) => string
export declare const staleReason: (root: string, force?: boolean) => string | undefined
