export {
  clusterDown,
  clusterStatus,
  clusterUp,
  exposeToPods,
  PORTAL_HOST,
  restartComponent,
  stopComponent,
} from './local-cluster.ts';
export type { ClusterComponent, ClusterImage, ClusterStatus, LocalClusterOptions } from './local-cluster.ts';
export { restrictedNamespace } from './restricted.ts';
export { resolveTestCluster } from './test-cluster.ts';
export type { TestCluster } from './test-cluster.ts';
