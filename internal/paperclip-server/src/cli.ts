// Command-line form of the harness, run with Node 24 (which runs .ts directly):
//   node internal/paperclip-server/src/cli.ts install [--version V] [--cache-dir DIR]
//   node internal/paperclip-server/src/cli.ts start [--port N] [--database-port N] [--data-dir DIR] [--keep-data-dir]
// `start` prints the URL and runs until SIGINT/SIGTERM, then stops the server and everything it started. SIGINT/SIGTERM
// during the start aborts it; if this process is killed outright, the server's owner watchdog stops the server.
import { parseArgs } from 'node:util';
import { ensurePaperclipInstalled } from './ensure-paperclip-installed.ts';
import { startPaperclipServer } from './start-paperclip-server.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    version: { type: 'string' },
    'cache-dir': { type: 'string' },
    port: { type: 'string' },
    'database-port': { type: 'string' },
    'data-dir': { type: 'string' },
    'keep-data-dir': { type: 'boolean' },
  },
});

async function main(): Promise<void> {
  const command = positionals[0] ?? 'install';
  if (command === 'install') {
    const install = await ensurePaperclipInstalled({ version: values.version, cacheDir: values['cache-dir'] });
    process.stdout.write(
      `${JSON.stringify({ ...install, installSeconds: install.installDurationMs / 1000, sizeGiB: +(install.sizeBytes / 1024 ** 3).toFixed(2) }, null, 2)}\n`,
    );
    return;
  }
  if (command === 'start') {
    // Ctrl-C during the start aborts it (stopping whatever was already started) instead of leaving it to the watchdog.
    const aborter = new AbortController();
    const abortStart = (signal: NodeJS.Signals): void => aborter.abort(new Error(`received ${signal}`));
    process.once('SIGINT', abortStart);
    process.once('SIGTERM', abortStart);
    const server = await startPaperclipServer({
      signal: aborter.signal,
      version: values.version,
      cacheDir: values['cache-dir'],
      port: values.port === undefined ? undefined : Number(values.port),
      databasePort: values['database-port'] === undefined ? undefined : Number(values['database-port']),
      dataDir: values['data-dir'],
      keepDataDir: values['keep-data-dir'],
    });
    process.stdout.write(
      `paperclip ${server.install.version} at ${server.url} (pid ${server.pid}, postgres :${server.databasePort}, data ${server.dataDir}, log ${server.logFile}) in ${server.startDurationMs} ms\n`,
    );
    process.off('SIGINT', abortStart);
    process.off('SIGTERM', abortStart);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const report = await server.stop();
    process.stdout.write(
      `stopped (graceful: ${report.graceful}, ${report.processes.length} processes, ${report.durationMs} ms)\n`,
    );
    return;
  }
  throw new Error(`unknown command ${command}; use install or start`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
