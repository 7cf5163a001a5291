export async function loadFs(): Promise<unknown> {
  return import('node:fs');
}
