export { type KeyAdminDeps, type KeyCommandResult, runKeyCommand } from './keyAdmin.js'
export { type TenantAdminDeps, type TenantListReply, runTenantCommand, tenantStoreFailure } from './tenantAdmin.js'
export { keyCommandAudit, outcomeOfFailure, tenantCommandAudit } from './adminAudit.js'
