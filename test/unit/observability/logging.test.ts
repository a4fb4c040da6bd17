import { describe, expect, it } from 'vitest'
import { createPinoLogger, lineLog, loggerFromEnv, prettyLine } from '../../../src/adapters/logging/pinoLogger.js'

const capture = (format: 'json' | 'pretty', level = 'info') => {
  const lines: string[] = []
  const logger = createPinoLogger({ format, level, destination: { write: (l: string) => lines.push(l) } })
  return { logger, lines }
}

describe('structured logs', () => {
  it('writes JSON lines with the level by name, the message, and the fields', () => {
    const { logger, lines } = capture('json')
    logger.info('ready')
    logger.warn('append answered UNAVAILABLE: timeout', { requestId: 'r-1', code: 'UNAVAILABLE' })
    const [ready, warning] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(ready).toMatchObject({ level: 'info', name: 'allsource', msg: 'ready' })
    expect(typeof ready?.time).toBe('number')
    expect(warning).toMatchObject({ level: 'warn', msg: 'append answered UNAVAILABLE: timeout', requestId: 'r-1', code: 'UNAVAILABLE' })
  })

  it('writes the compact line the processor always printed, on a terminal', () => {
    const { logger, lines } = capture('pretty')
    logger.info('stopped')
    logger.warn('audit log write failed')
    logger.warn('WARNING: ALLSOURCE_AUTH=off: the embedded server runs OPEN')
    logger.error('boom', { requestId: 'r 2' })
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z allsource stopped\n$/)
    expect(lines[1]).toMatch(/Z allsource warning: audit log write failed\n$/)
    expect(lines[2]).toMatch(/Z allsource WARNING: ALLSOURCE_AUTH=off/)
    expect(lines[3]).toMatch(/Z allsource error: boom requestId="r 2"\n$/)
  })

  it('honours the level: debug lines only when asked for', () => {
    const info = capture('json')
    info.logger.debug('slow append: 600 ms')
    expect(info.lines).toEqual([])
    expect(info.logger.debugEnabled).toBe(false)
    const debug = capture('json', 'debug')
    debug.logger.debug('slow append: 600 ms', { requestId: 'r-3' })
    expect(debug.logger.debugEnabled).toBe(true)
    expect(JSON.parse(debug.lines[0] as string)).toMatchObject({ level: 'debug', requestId: 'r-3' })
  })

  it('never writes a credential it is handed in fields, at the top or nested, in either format', () => {
    const secrets = ['as_9EKCJM0rsdrz_s3cr3tk3y', 'hunter2-password', 'eyJhbGciOiJFZERTQSJ9.token', 'SUACSEEDSEEDSEED', 'Bearer abc.def.ghi', 'refresh-r3fr3sh']
    for (const format of ['json', 'pretty'] as const) {
      const { logger, lines } = capture(format)
      logger.warn('login failed', {
        key: secrets[0],
        password: secrets[1],
        user: { name: 'ann', password: secrets[1], token: secrets[2] },
        auth: { material: { seed: secrets[3] } },
        headers: { authorization: secrets[4] },
        reply: { accessToken: secrets[2], refreshToken: secrets[5] },
        bootstrapKey: secrets[0],
      })
      const out = lines.join('')
      for (const s of secrets) expect(out).not.toContain(s)
      expect(out).toContain('[redacted]')
      expect(out).toContain('ann') // the rest is kept
    }
  })

  it('turns the older log(message) callbacks into levels, text unchanged', () => {
    const { logger, lines } = capture('json')
    const log = lineLog(logger)
    log('ready')
    log('warning: tenant watch: closed; reopening')
    expect(lines.map((l) => JSON.parse(l) as { level: string; msg: string }).map((e) => `${e.level} ${e.msg}`)).toEqual(['info ready', 'warn tenant watch: closed; reopening'])
  })

  it('chooses JSON off a terminal and the compact line on one, unless ALLSOURCE_LOG_FORMAT says', () => {
    const write = process.stdout.write.bind(process.stdout)
    const lines: string[] = []
    process.stdout.write = ((s: string) => lines.push(s) > 0) as typeof process.stdout.write
    try {
      loggerFromEnv({}, false).info('one')
      loggerFromEnv({}, true).info('two')
      loggerFromEnv({ ALLSOURCE_LOG_FORMAT: 'pretty' }, false).info('three')
      loggerFromEnv({ ALLSOURCE_LOG_FORMAT: 'json' }, true).info('four')
      loggerFromEnv({ ALLSOURCE_LOG_LEVEL: 'warn' }, false).info('five')
    } finally {
      process.stdout.write = write
    }
    expect(lines[0]).toMatch(/^\{.*"msg":"one"/)
    expect(lines[1]).toMatch(/allsource two\n$/)
    expect(lines[2]).toMatch(/allsource three\n$/)
    expect(lines[3]).toMatch(/^\{.*"msg":"four"/)
    expect(lines.join('')).not.toContain('five')
  })

  it('prints a line that is not JSON as it is', () => {
    expect(prettyLine('not json')).toBe('not json\n')
  })
})
