/**
 * Routing each event stream's appends to one processor instance (docs/operations.md, "Several
 * processors"). Pure: the partition of a stream, and which live instance owns which partition.
 *
 * A partition is what nats-server's `{{partition(n, 1, 2)}}` subject mapping gives the subject
 * `<prefix>.append.<tenant>.<stream>`: FNV-1a (32 bit) of the tenant and stream tokens concatenated
 * (no separator), modulo `n`. {@link partitionOf} computes the same number, so the processor can
 * check that the server's mapping agrees with its own partition count.
 */

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** FNV-1a, 32 bit, of the UTF-8 bytes of `text` (ids are ASCII, so one byte per character). */
export const fnv1a32 = (text: string, seed = FNV_OFFSET): number => {
  let h = seed
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, FNV_PRIME) >>> 0
  return h >>> 0
}

/** The partition (0 ≤ p < `count`) nats-server's `{{partition(count, 1, 2)}}` gives `<tenant>.<stream>`. */
export const partitionOf = (tenant: string, stream: string, count: number): number => fnv1a32(`${tenant}${stream}`) % count

/** A mixer for the rendezvous weights (murmur3's finalizer): spreads FNV's low-entropy bits. */
const mix = (x: number): number => {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * The rendezvous weight of `member` for `partition`: the highest weight owns the partition. The
 * member's hash, mixed, against the partition spread by the golden ratio, mixed again (hashing
 * `member + partition` with FNV alone gave one of two short names every partition).
 */
const weight = (member: string, partition: number): number => mix(mix(fnv1a32(member)) ^ Math.imul(partition + 1, 0x9e3779b9))

/**
 * The owner of each partition among `members` by rendezvous (highest random weight) hashing:
 * every instance that sees the same member set computes the same owners, without talking to the
 * others; when a member joins it takes about `count / members` partitions and no other partition
 * moves, and when one leaves only its partitions move. Ties (equal weights) go to the smaller id.
 * Returns `owners[p]`, or an empty array when there is no member.
 */
export const assignPartitions = (members: readonly string[], count: number): readonly string[] => {
  if (members.length === 0) return []
  const sorted = [...new Set(members)].sort()
  return Array.from({ length: count }, (_, p) => {
    let best = sorted[0] as string
    let bestWeight = weight(best, p)
    for (let i = 1; i < sorted.length; i++) {
      const m = sorted[i] as string
      const w = weight(m, p)
      if (w > bestWeight) {
        best = m
        bestWeight = w
      }
    }
    return best
  })
}

/** The partitions `self` owns among `members` (`self` counted as a member whether listed or not). */
export const partitionsOwnedBy = (self: string, members: readonly string[], count: number): ReadonlySet<number> => {
  const owners = assignPartitions(members.includes(self) ? members : [...members, self], count)
  const mine = new Set<number>()
  owners.forEach((owner, p) => owner === self && mine.add(p))
  return mine
}
