import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/main/config.js'

describe('the HTTP gateway settings', () => {
  it('default to 127.0.0.1:3900; 0 turns the gateway off; a bad port is one clear error', () => {
    expect(loadConfig({})).toMatchObject({ httpPort: 3900, httpHost: '127.0.0.1' })
    expect(loadConfig({ ALLSOURCE_HTTP_PORT: '0', ALLSOURCE_HTTP_HOST: '0.0.0.0' })).toMatchObject({ httpPort: 0, httpHost: '0.0.0.0' })
    expect(() => loadConfig({ ALLSOURCE_HTTP_PORT: '70000' })).toThrow(/ALLSOURCE_HTTP_PORT/)
    expect(() => loadConfig({ ALLSOURCE_HTTP_PORT: 'web' })).toThrow(/ALLSOURCE_HTTP_PORT/)
  })
})
