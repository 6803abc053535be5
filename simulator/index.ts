export { FailureMode } from './behavior.js';
export type { DeviceBehavior, FailureSpec } from './behavior.js';
export { SimulatorError, SimulatorErrorCode } from './errors.js';
export { FleetFormat } from './fleet-file.js';
export type { FleetEntry, WriteFleetOptions } from './fleet-file.js';
export { MixClass, mixBehaviors } from './mix.js';
export { DeviceSimulator } from './server.js';
export type { SimulatorOptions } from './server.js';
export type { AttemptOutcome, AttemptRecord, SimulatorStats } from './stats.js';
