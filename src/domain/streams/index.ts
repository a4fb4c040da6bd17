export { TenantId, StreamId, EventType, EventId, CommitId, Version, categoryOf } from './ids.js'
export { Payload, Metadata, ProposedEvent, versionRange } from './event.js'
export type { RecordedEvent, Commit } from './event.js'
export { ExpectedVersion, checkExpectedVersion, survivesConcurrentWrite } from './expectedVersion.js'
export {
  validateAppendRequest,
  validateTenant,
  validateStream,
  defaultAppendLimits,
} from './appendRequest.js'
export type { AppendCommand, AppendLimits } from './appendRequest.js'
export { badRequest, invalidId, validationFailed, wrongExpectedVersion, tooLarge } from './errors.js'
export type {
  DomainError,
  BadRequest,
  InvalidId,
  ValidationFailed,
  ValidationFailure,
  WrongExpectedVersion,
  TooLarge,
} from './errors.js'
export { defineModule, applyEvents, moduleRegistry } from './module.js'
export type {
  EventCodecs,
  EventOf,
  RecordedEventOf,
  Invariant,
  ModuleDefinition,
  StreamModule,
  ModuleRegistry,
} from './module.js'
export { numberEvents } from './numberEvents.js'
