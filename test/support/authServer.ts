import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node'
import { type AuthMaterial, generateAuthMaterial, serverAuthBlock } from '../../src/main/auth/authMaterial.js'
import { findNatsServer } from '../../src/main/natsServer/findNatsServer.js'
import { launchNatsServer, type RunningNatsServer } from '../../src/main/natsServer/launchNatsServer.js'

/** A test's own nats-server in auth mode (the embedded server's accounts and callout block), with the material it trusts. */
export interface AuthTestServer extends RunningNatsServer {
  readonly dir: string
  readonly material: AuthMaterial
  /** A connection as the processor (nkey, exempt from the callout). */
  processor(): Promise<NatsConnection>
}

const te = new TextEncoder()

/** Starts nats-server (>= 2.12) on a free port with auth mode's configuration and a fresh temp dir. */
/** `binary`: another nats-server (the old-version refusal test); default the project's (>= 2.12). */
export const startAuthServer = async (given?: AuthMaterial, binaryPath?: string): Promise<AuthTestServer> => {
  const binary = binaryPath ?? (await findNatsServer()).path
  const dir = await mkdtemp(join(tmpdir(), 'allsource-auth-'))
  const material = given ?? generateAuthMaterial()
  const auth = { authenticator: nkeyAuthenticator(te.encode(material.processorSeed)) }
  try {
    const server = await launchNatsServer({ binary, port: 0, storeDir: join(dir, 'store'), appendConfig: serverAuthBlock(material), probeAuth: auth })
    return {
      ...server,
      dir,
      material,
      processor: () => connect({ servers: server.url, name: 'test-processor', ...auth }),
      stop: async () => {
        await server.stop()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
}
