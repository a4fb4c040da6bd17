export { createPinoLogger, lineLog, loggerFromEnv, prettyLine, REDACTED_FIELDS } from './pinoLogger.js'
export type { LogFormat, PinoLoggerOptions } from './pinoLogger.js'
