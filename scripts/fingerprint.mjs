// The build scripts' staleness check (scripts/buildIfStale.mjs for dist/, scripts/buildConsole.mjs
// for dist/console/): a fingerprint of a set of input files, a hash over each file's path
// (relative to the root), size and modification time, in path order. Adding, changing, touching or
// deleting a file changes it.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** Every file under `dir` (recursively); none when it does not exist. */
export const filesUnder = (dir, out = []) => {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return out
  }
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) filesUnder(path, out)
    else if (e.isFile()) out.push(path)
  }
  return out
}

/** The fingerprint of `files` (those that exist) relative to `root`: `<n> files <sha256>`. */
export const fingerprintOf = (root, files) => {
  const present = files.filter((f) => existsSync(f)).sort()
  const hash = createHash('sha256')
  for (const f of present) {
    const s = statSync(f)
    hash.update(`${relative(root, f)}\0${s.size}\0${s.mtimeMs}\n`)
  }
  return `${present.length} files ${hash.digest('hex')}`
}
