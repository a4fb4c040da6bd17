import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import type { StreamModule } from '../../domain/streams/module.js'
import type { EventLog } from './ports.js'
import type { LoadedStream } from './prepareCommit.js'

/**
 * Hydrates one stream. A plain stream needs only its head (one direct get of the last message on
 * its subject); a module stream folds every commit up to that head with the module's `evolve`.
 */
export const loadStream = async (
  log: EventLog,
  module: StreamModule | undefined,
  tenant: TenantId,
  stream: StreamId,
): Promise<LoadedStream> => {
  const head = await log.readHead(tenant, stream)
  if (module === undefined) return { head, state: undefined }
  let state = module.initialState
  if (head.lastOffset === 0) return { head, state }
  for await (const stored of log.readStream(tenant, stream, head.lastOffset)) {
    for (const e of stored.commit.events) state = module.evolve(state, e)
  }
  return { head, state }
}
