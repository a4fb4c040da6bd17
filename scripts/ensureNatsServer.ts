import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { findNatsServer, probeNatsServer, projectRoot } from '../src/main/natsServer/findNatsServer.js'
import { installNatsServer } from '../src/main/natsServer/installNatsServer.js'

// `npm run nats-server`: prints the nats-server (>= 2.12) the project will use, installing a
// project-local copy from Debian unstable into .nats-server/ first when there is none
// (Debian/Ubuntu only). With `--with-2.10` it also unpacks Debian trixie's 2.10 into
// .nats-server-2.10/, the old external server the compatibility tests run against (CI does this;
// those tests skip, saying so, when the copy is absent). Exit 0 with the path and version, or exit
// 1 with one message saying how to install it. Never asks anything.
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

try {
  const found = await findNatsServer().catch(async (e: unknown) => {
    console.error(message(e))
    console.error('Installing a project-local copy (npm run nats-server)...')
    return installNatsServer()
  })
  console.log(`nats-server v${found.version} at ${found.path}`)
  if (process.argv.includes('--with-2.10')) {
    const path = join(projectRoot(), '.nats-server-2.10', 'usr', 'sbin', 'nats-server')
    const probed = existsSync(path) ? await probeNatsServer(path, '2.10.0') : undefined
    const old =
      probed !== undefined && !('reason' in probed)
        ? probed
        : await installNatsServer({ suite: 'trixie', dir: '.nats-server-2.10', minVersion: '2.10.0' })
    console.log(`nats-server v${old.version} at ${old.path} (old-server compatibility tests only)`)
  }
} catch (e) {
  console.error(`\n${message(e)}`)
  process.exit(1)
}
