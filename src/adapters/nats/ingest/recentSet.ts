/** A set of the most recently used `max` keys: the oldest is forgotten when a new one comes in. */
export class RecentSet {
  private readonly keys = new Set<string>()
  constructor(private readonly max: number) {}

  /** Whether `key` is in the set; a hit makes it the most recently used. */
  has(key: string): boolean {
    if (!this.keys.has(key)) return false
    this.keys.delete(key)
    this.keys.add(key)
    return true
  }

  add(key: string): void {
    this.keys.delete(key)
    this.keys.add(key)
    while (this.keys.size > this.max) {
      const oldest = this.keys.values().next()
      if (oldest.done === true) break
      this.keys.delete(oldest.value)
    }
  }

  get size(): number {
    return this.keys.size
  }
}
