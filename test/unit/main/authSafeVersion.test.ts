import { describe, expect, it } from 'vitest'
import { authSafeVersion } from '../../../src/main/connectToNats.js'

describe('authSafeVersion: nats-server versions auth mode accepts (>= 2.12.12 on 2.12, >= 2.14.3 after)', () => {
  const table: readonly (readonly [string | undefined, boolean])[] = [
    ['2.10.27', false],
    ['2.11.16', false],
    ['2.12.0', false],
    ['2.12.11', false],
    ['2.12.12', true],
    ['2.12.15', true],
    ['2.13.0', false],
    ['2.14.0', false],
    ['2.14.2', false],
    ['2.14.3', true],
    ['2.14.5', true],
    ['2.15.0', true],
    ['2.15.1', true],
    ['3.0.0', true],
    ['1.99.99', false],
    ['v2.14.3', true],
    ['v2.12.11', false],
    ['2.12', false],
    ['garbage', false],
    ['', false],
    [' 2.14.3', false],
    [undefined, false],
  ]
  for (const [version, safe] of table) {
    it(`${JSON.stringify(version)} → ${safe}`, () => {
      expect(authSafeVersion(version)).toBe(safe)
    })
  }
})
