export { ensurePaperclipInstalled } from './ensure-paperclip-installed.ts';
export type { EnsurePaperclipInstalledOptions, PaperclipInstall } from './ensure-paperclip-installed.ts';
export { startPaperclipServer } from './start-paperclip-server.ts';
export type { PaperclipServer, PaperclipStopReport, StartPaperclipServerOptions } from './start-paperclip-server.ts';
export { createPaperclipClient, parseRunLog, TERMINAL_RUN_STATUSES } from './paperclip-client.ts';
export type {
  AdapterInfo,
  AdapterInstallResult,
  Agent,
  Company,
  CreateAgentInput,
  CreateIssueInput,
  CreateProjectInput,
  EnvironmentTestResult,
  HealthResponse,
  HeartbeatRun,
  Issue,
  JsonRecord,
  PaperclipClient,
  PaperclipClientOptions,
  Project,
  RunEvent,
  RunLog,
  RunLogRecord,
  RunStatus,
  WaitForRunOptions,
  WakeupInput,
} from './paperclip-client.ts';
export { launchBrowser, CHROMIUM_FLAGS, DEFAULT_CHROMIUM_PATH } from './launch-browser.ts';
export type { BrowserHarness, LaunchBrowserOptions } from './launch-browser.ts';
export {
  DEFAULT_SERVICE_USER,
  ensureServiceUser,
  resolveServerUser,
  grantReadAccess,
  assertReadableBy,
} from './service-user.ts';
export type { ServiceUser } from './service-user.ts';
export { findFreePort, isPortFree } from './tcp-ports.ts';
export { ensureReadableCopy, DEFAULT_MIRROR_ROOT } from './readable-copy.ts';
export type { EnsureReadableCopyOptions } from './readable-copy.ts';
export { isRunning } from './processes.ts';
export type { TrackedProcess } from './processes.ts';
export { DEFAULT_PAPERCLIP_VERSION, defaultArtifactsDir, defaultPaperclipCacheDir } from './repo-paths.ts';
export { PaperclipApiError, PaperclipServerError, PortInUseError } from './paperclip-server-error.ts';
