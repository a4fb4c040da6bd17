import { GATEWAY_METHOD } from './scenarios/gateway.js'
import { SEQUENTIAL_METHOD } from './scenarios/sequential.js'
import { ID_LOOKUP_METHOD } from './scenarios/idLookup.js'
import { FEATURES_METHOD } from './scenarios/features.js'
import { ANALYTICS_METHOD } from './scenarios/analytics.js'
import { PIPELINES_METHOD } from './scenarios/pipelines.js'
import { PROCESSORS_METHOD } from './scenarios/processors.js'
import { REPLICAS_METHOD } from './scenarios/replicas.js'
import { DURABLE_METHOD } from './scenarios/durable.js'

/** How each figure of `docs/benchmarks.md` is measured: the report's last section. */
export const METHOD = `- **1 raw-limit**: the bytes of a real one-event commit, published with \`Nats-Msg-Id\` and
  \`Nats-Expected-Last-Subject-Sequence\` through \`PipelinedPublisher\` (one inbox subscription,
  acks matched by token); each stream's publishes sequential, all streams at once. Its headers
  are formatted the way AllSource formats its own (\`WireHeaders\`), so the baseline is no slower
  than the product's publish path (so are the forwarder's and the hot-stream raw row's).
- **2 naive**: \`await js.publish(subject, bytes, { msgID })\` per event, same stream loops.
- **3a library**: \`createAllSource(...).append(...)\` in the bench process, one event per commit,
  sequential per stream, \`expectedVersion: "any"\`.
- **3d actor floor**: a do-nothing xstate machine taking two events per append (the work, then
  the written outcome; one assign and one action each), over 1,000 actors in turn: CPU µs per
  append in xstate alone, next to the time per append the raw limit leaves (1 / raw rate) and the
  budget for the library to reach 0.8× of it. The stream actor takes the same two events.
- **3e actor path**: scenario 3a with the I/O taken away: request validation, the real stream
  supervisor and actors, ids and timestamps, the commit's msgpack body and headers, against a log
  that acknowledges at once (same concurrency: 1,000 streams, each sequential). CPU µs per
  append; compare with the 3d budget, which is all the time a library append may take.
- **3b service**: the processor (\`createAllSource\` + \`serve()\`) in the bench process; the client
  (\`bench/serviceClient.ts\`) in a separate process doing \`createAllSourceClient(nc).append\`.
  CPU per append: the client's \`process.cpuUsage()\`, the bench process's (the processor), and
  nats-server's utime+stime from \`/proc/<pid>/stat\`.
- **3c forwarder**: a few-line NATS service in the bench process that takes the same request,
  decodes it, publishes a commit's bytes with the expected-sequence header on the pipelined path
  and replies: the ceiling of any request-reply service on this box. Same client process.
- **3f service, no actor**: an ablation, not a design. The service of 3b with the stream actor
  and supervisor replaced by a map of stream heads (correct only for this workload: one append
  in flight per stream, no conflicts); the same endpoint, validation, commit preparation, event
  log and replies. The processor budget row is the CPU per append at which 3b would reach 0.85×
  the forwarder, given the client's and server's CPU per append in the forwarder rounds and the
  same use of the two cores: \`(c + s + f) / 0.85 − c − s\`. 3b's processor CPU minus 3f's is
  the actor's price in place.
- **4 hot-stream**: sequential appends to one stream through the library; latency of each. The
  raw row publishes the same bytes sequentially with the expected-sequence header.
- **5 multi-event**: as 3a with 10 events per commit.
- **7 replay**: 1,000,000 events written once (commits of 10 events over 1,000 streams), then
  replayed R times each, alternating: a raw ordered consumer decoding each commit with msgpackr,
  and the library's \`replayEvents\` iterator (tenant filter, pulls capped at ~4.25 MB, 100 commits).
- **6 durable ingest**: single-event messages \`js.publish\`ed to 1,000 ingest subjects (500
  publishes in flight) while \`app.startIngest()\` runs in the bench process; from the first publish
  until every message is appended and acked.
- **7 query**: on the 1,000,000-event log of the replay scenario, one \`createQuery\` call each
  (single run): one stream's 1,000 events; the first and a middle page of 1,000 by type; then the
  event-id indexer indexes the whole log (its rate is reported) and one event is looked up by id.
- **19 filtered query**: on the same log, R times, the query (\`createQuery\`, the processor's default
  scan budget of 20,000 commits per request) with \`where: "payload.s < 100"\` (a tenth of the streams'
  events; the filter implies no stream and no type, so every commit is decoded), \`limit\` 10,000,
  following \`nextOffset\` to the end as \`client.query()\` does: the log's events divided by the
  time (events scanned per second), against the raw ordered consumer's rate (issue 13's target ≥ 0.7×).
- **8 projections**: on the same 1,000,000-event log, \`startProjection\` of \`entity-state\` (1,000
  keys), then \`event-counter\` and \`event-frequency\` (1 key each), each R times (a fresh bucket
  and consumer per round, under another name), right after the replay rounds and before the id
  index (a KV key per event, which slows the server's later KV writes), from offset 0 until its
  checkpoint reaches the end (the lease, the consumer, the fold, the compare-and-set KV writes,
  the topic publishes and the acks, all included); events per second, next to the raw ordered
  consumer's read rate.
- **9 hydration**: \`loadStream\` of a 1,000-event \`account-*\` stream (the example module), folded
  from the log with an ordered consumer; then the same from a KV snapshot taken at its head;
  medians of repeated cold loads.
- **10 memory**: a separate process touches 100,000 distinct streams through the library (500 at
  a time) with the default cap of 10,000 resident actors, runs a GC, and reports its RSS and its
  live heap. It runs compiled (\`npm run build\`, plain \`node\`), as \`npm start\` runs the processor;
  under tsx the same probe shows ~100 MB more RSS (tsx's module loader thread). RSS is V8's
  high-water mark from the load, not what stays live; with \`node --max-old-space-size=256\` the
  probe ended at about 230 MB RSS with the same live heap.
- **11 durable**: raw-limit and service again against a server with \`sync_interval: always\`.
- **12 service, auth off/on**: scenario 3b twice per round, each on its own fresh server, the
  order alternating between rounds. Off: 3b as it is (anonymous client, no auth plane). On: the
  server in auth mode (\`serverAuthBlock\`: accounts, \`auth_callout\` with xkey), the processor
  connected by its nkey (exempt from the callout) with \`startAuthPlane\` running and its tenant
  admission on the request path (\`createAllSource({ auth: plane.serviceAuth })\`), tenant
  \`bench\` in the registry and one developer key in \`plane.keys\`; the client process connects
  with \`tenantConnectOptions\` (the key as token, inbox prefix \`_INBOX.bench.<keyId>\`), so its
  one connection goes through the callout once, and every request is admitted from the in-memory
  tenant directory and its reply prefix checked. Same workload as 3b; the ratio is on/off.
- **13 connect**: a client process (\`bench/connectClient.ts\`) opens 200 connections one after
  the other (connect-to-ready: from \`connect()\` until it resolves, i.e. until the server's first
  PONG, which follows the callout's answer; each closed before the next; p50 and p99 of the 200),
  then 200 more with 4 loops of connect-then-close at once (connections/s over that phase).
  Callout: a server in auth mode with the auth plane in the bench process (its callout on its own
  connection) and 1,000 developer keys stored (4 tenants × 250) in \`plane.keys\` (whichever
  store \`startAuthPlane\` uses: in memory on 2026-12-04) before the clients start; the
  clients use keys in turn across the tenants, so each of the first 200 is a key's first use
  (which writes its \`lastUsedAt\`). Anonymous: the same client with no credentials against a
  server without auth. CPU per connection over both phases: nats-server's, and with auth on the
  bench process's, which then does nothing but the callout (and the idle auth plane). Alternating
  order, fresh servers per round.
- **15 live WebSocket**: a 200,000-event log (commits of 10 over 1,000 streams, written raw as in
  7), a processor and the live routes (\`registerLiveRoutes\`, auth off, default limits) on
  Fastify in the bench process, and one reader in a separate process (\`bench/liveClient.ts\`,
  the \`ws\` client) on \`/v1/tenants/bench/events/live?fromOffset=1\` that \`JSON.parse\`s every
  message until it has all 200,000: events per second from the socket's open to the last
  message. The library iterator's rate on the same log in the same round is the ceiling beside
  it. CPU per event: the reader process, and the bench process (replay, JSON, socket writes).
${GATEWAY_METHOD}${SEQUENTIAL_METHOD}${ANALYTICS_METHOD}${PIPELINES_METHOD}${ID_LOOKUP_METHOD}${FEATURES_METHOD}${PROCESSORS_METHOD}${REPLICAS_METHOD}${DURABLE_METHOD}`
