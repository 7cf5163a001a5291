export { prepareTenant } from './tenant.ts';
export type { Tenant, TenantOptions } from './tenant.ts';
