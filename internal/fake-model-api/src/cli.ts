// Run the fake Messages API as a process:
//   node internal/fake-model-api/src/cli.ts [--port 0] [--host 127.0.0.1] [--default-scenario text] [--quiet]
// Prints one JSON line {"url","port","pid"} on stdout once listening, one line per request on stderr, and exits 0 on
// SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { createFakeModelApi, type FakeRequestRecord } from './create-fake-model-api.ts';
import { FakeModelApiError } from './fake-model-api-error.ts';

function formatRecord(record: FakeRequestRecord): string {
  const scenario =
    record.scenario === undefined
      ? ''
      : ` [[${record.scenario.name}${record.scenario.argument === undefined ? '' : `:${record.scenario.argument}`}]] (${record.scenario.source})`;
  const stream = record.streaming ? ' stream' : '';
  return `[fake-model-api] ${record.timestamp} #${record.index} ${record.method} ${record.path} -> ${record.status} ${record.outcome ?? ''}${stream}${scenario}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'default-scenario': { type: 'string', default: 'text' },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new FakeModelApiError(`fake-model-api: --port ${values.port}: expected an integer from 0 to 65535`);
  }
  const api = await createFakeModelApi({
    port,
    host: values.host,
    defaultScenario: values['default-scenario'],
    onRequest: values.quiet ? undefined : (record) => process.stderr.write(formatRecord(record)),
  });
  const shutdown = (signal: string): void => {
    process.stderr.write(`[fake-model-api] ${signal}: closing\n`);
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.stdout.write(`${JSON.stringify({ url: api.url, port: api.port, pid: process.pid })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
