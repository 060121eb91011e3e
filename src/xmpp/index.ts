/**
 * The XMPP side of fileupload: the XEP-0114 upload component and the pure protocol pieces it is
 * built from (usable on their own, e.g. by `doctor` or tests).
 *
 * @example
 * import { createUploadComponent } from './xmpp/index.ts';
 * const xmpp = createUploadComponent({ settings, logger });
 * xmpp.start();
 */
export {
  createUploadComponent,
  type ComponentStats,
  type UploadComponent,
  type UploadComponentEvents,
  type UploadComponentHooks,
  type UploadComponentOptions,
} from './service.ts';
export {
  createComponentConnection,
  type ComponentConnection,
  type ComponentState,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionStats,
  type ConnectionTuning,
} from './connection.ts';
export {
  allow,
  refuse,
  runPolicies,
  sizePolicy,
  purposePolicy,
  type PolicyDecision,
  type Requester,
  type SlotPolicy,
  type SlotRequestContext,
} from './policy.ts';
export { accessPolicy, accessRule, isDomainAllowed, type AccessRule } from './access.ts';
export {
  badRequest,
  fileTooLarge,
  forbidden,
  internalError,
  notImplemented,
  quotaExceeded,
  type ErrorCondition,
  type ErrorType,
  type SlotRefusal,
} from './refusal.ts';
export { parseSlotRequest, type SlotRequest, type RequestShape } from './slot-request.ts';
export {
  createCommands,
  COMMAND_NODES,
  type CommandAnswer,
  type CommandOperations,
  type Commands,
  type CommandsOptions,
  type CommandUpload,
} from './commands.ts';
export { discoInfo, discoFeatures, announcedMaxFileSize, UNLIMITED_ANNOUNCED_SIZE } from './disco.ts';
export { describeFailure, type ConnectionFailure, type FailureCause } from './connection-failure.ts';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
export * from './namespaces.ts';
