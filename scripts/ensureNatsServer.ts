import { findNatsServer } from '../src/main/natsServer/findNatsServer.js'
import { installNatsServer } from '../src/main/natsServer/installNatsServer.js'

// `npm run nats-server`: prints the nats-server (>= 2.10) the project will use, installing a
// project-local copy into .nats-server/ first when there is none (Debian/Ubuntu only). Exit 0 with
// the path and version, or exit 1 with one message saying how to install it. Never asks anything.
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

try {
  const found = await findNatsServer().catch(async (e: unknown) => {
    console.error(message(e))
    console.error('Installing a project-local copy (npm run nats-server)...')
    return installNatsServer()
  })
  console.log(`nats-server v${found.version} at ${found.path}`)
} catch (e) {
  console.error(`\n${message(e)}`)
  process.exit(1)
}
