export {
  createFakeCluster,
  matches,
  statusBody,
  FakeStatusError,
  type FakeCluster,
  type FakeFault,
  type FakeObject,
  type FakeWatchEvent,
  type FakeWatchEnd,
  type FakeRequest,
} from './fake-cluster.ts';
export {
  startFakeLogServer,
  type FakeLogServer,
  type FakeLogServerOptions,
  type FakeLogFault,
  type FakeLogRecord,
  type FakeLogRequest,
} from './fake-log-server.ts';
export { startCuttingProxy, type CuttingProxy, type CuttingProxyOptions } from './cutting-proxy.ts';
export {
  logLine,
  analyzeLogLines,
  describeLogLinesProblems,
  buildLogLinesScript,
  type LogLinesAnalysis,
  type LogLinesScriptOptions,
} from './log-lines.ts';
export { startFakeApiserver, type FakeApiserver } from './fake-apiserver.ts';
