import { describe, expect, it } from 'vitest'
import { authorizationOf, redactUrl, selectLiveProtocol } from '../../../../src/adapters/http/liveCredentials.js'

describe('live stream credentials', () => {
  it('takes the header first, then the subprotocol, then the query string, as one Authorization value', () => {
    expect(authorizationOf({ authorization: 'ApiKey h' }, { api_key: 'q' })).toBe('ApiKey h')
    expect(authorizationOf({ 'sec-websocket-protocol': 'allsource.v1, allsource.bearer.eyJt' }, { api_key: 'q' })).toBe('Bearer eyJt')
    expect(authorizationOf({ 'sec-websocket-protocol': 'allsource.v1,allsource.apikey.as_k' }, {})).toBe('ApiKey as_k')
    expect(authorizationOf({}, { access_token: 'eyJt' })).toBe('Bearer eyJt')
    expect(authorizationOf({}, { api_key: 'as_k' })).toBe('ApiKey as_k')
    expect(authorizationOf({}, { api_key: ['a', 'b'] })).toBeUndefined()
    expect(authorizationOf({ 'sec-websocket-protocol': 'allsource.v1' }, {})).toBeUndefined()
  })

  it('selects allsource.v1, never a credential', () => {
    expect(selectLiveProtocol(new Set(['allsource.apikey.as_k', 'allsource.v1']))).toBe('allsource.v1')
    expect(selectLiveProtocol(new Set(['allsource.apikey.as_k']))).toBe(false)
  })

  it('redacts credential parameters however they are encoded, and keeps the rest', () => {
    expect(redactUrl('/v1/x?api_key=as_secret&fromOffset=3')).toBe('/v1/x?api_key=[redacted]&fromOffset=3')
    expect(redactUrl('/v1/x?fromOffset=3&access_token=eyJ.a.b#f')).toBe('/v1/x?fromOffset=3&access_token=[redacted]#f')
    expect(redactUrl('/v1/x?api%5Fkey=s1&ACCESS_TOKEN=s2&api_key')).toBe('/v1/x?api%5Fkey=[redacted]&ACCESS_TOKEN=[redacted]&api_key=[redacted]')
    expect(redactUrl('/v1/x?a=%E0%A4%A')).toBe('/v1/x?a=%E0%A4%A')
    expect(redactUrl('/v1/x')).toBe('/v1/x')
  })
})
