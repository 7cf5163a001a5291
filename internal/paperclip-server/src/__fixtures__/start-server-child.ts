// A separate owner process for the watchdog tests: starts a real Paperclip server with the data dir given as the
// first argument, prints one JSON line describing it, then waits to be killed (it never calls stop()).
import { startPaperclipServer } from '../start-paperclip-server.ts';

const server = await startPaperclipServer({ dataDir: process.argv[2] });
process.stdout.write(
  `${JSON.stringify({ pid: server.pid, port: server.port, databasePort: server.databasePort, watchdog: server.watchdog, processes: server.processes() })}\n`,
);
setInterval(() => undefined, 60_000);
