import type { PayloadSizer } from '../../application/policies/ports.js'
import { encodeMsgpack } from './msgpack.js'

/**
 * A payload's size as the log stores it: the length of its msgpack encoding (the commit body is
 * msgpack; DESIGN.md, "Storage layout"). This encodes the payload once more; the append path may
 * pass sizes it already has instead.
 */
export const msgpackPayloadBytes: PayloadSizer = (payload) => encodeMsgpack(payload).length
