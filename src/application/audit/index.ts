export { type PageCollector, createPageCollector, DEFAULT_AUDIT_PAGE_BYTES } from './auditPage.js'
export { type AuditSink, type AuditWriter, type AuditWriterDeps, createAuditWriter } from './auditWriter.js'
export {
  type AuditLog,
  type AuditLogUnavailable,
  type AuditPage,
  type AuditWriterOptions,
  type AuditWriterStats,
  type DropReason,
  type RecordOutcome,
  defaultAuditWriterOptions,
} from './ports.js'
export { queryAudit } from './queryAudit.js'
export { createDropAuditor, type DropAuditOptions, type DroppedReport, defaultDropAuditOptions } from './dropAudit.js'
