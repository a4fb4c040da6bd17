export { projectionMachine, stateOf } from './projectionMachine.js'
export type { ProjectionActorInput, ProjectionActorEvent, ProjectionSnapshot, FoldInput, FoldRole, SwitchInput } from './projectionMachine.js'
