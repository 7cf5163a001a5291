import { createFormatter, parseLine, type Formatter } from '@claude-k8s/stream-json';
import { ADAPTER_TYPE } from './create-server-adapter.ts';

/** Paperclip's CLI formatter contract: one stdout line of a run, printed for a terminal. */
export interface CliAdapterModule {
  type: string;
  formatStdoutEvent(line: string, debug: boolean): void;
}

/** Options of {@link createCliAdapter}. */
export interface CliAdapterOptions {
  /** Where text goes. @default process.stdout.write */
  write?: (text: string) => void;
  /** ANSI colours. @default whether stdout is a terminal */
  color?: boolean;
  /** Terminal width in columns. @default stdout's columns, else 100 */
  width?: number;
}

/**
 * A CLI formatter for terminals (`formatStdoutEvent(line, debug)`): stream-json lines become readable text (tool
 * calls and results summarised, thinking and unknown lines shown in debug mode); other lines (e.g. the adapter's
 * own notes) are printed as they are.
 */
export function createCliAdapter(options: CliAdapterOptions = {}): CliAdapterModule {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const formatters = new Map<boolean, Formatter>();
  const formatterFor = (debug: boolean): Formatter => {
    let formatter = formatters.get(debug);
    if (!formatter) {
      formatter = createFormatter({
        color: options.color ?? process.stdout.isTTY === true,
        width: options.width ?? process.stdout.columns ?? 100,
        thinking: debug,
        rawUnknown: debug,
      });
      formatters.set(debug, formatter);
    }
    return formatter;
  };
  let lineNumber = 0;
  return {
    type: ADAPTER_TYPE,
    formatStdoutEvent(line, debug) {
      lineNumber += 1;
      const trimmed = line.trim();
      if (trimmed === '') return;
      if (!trimmed.startsWith('{')) {
        write(`${trimmed}\n`);
        return;
      }
      const formatter = formatterFor(debug);
      for (const event of parseLine(trimmed, lineNumber)) write(formatter.format(event));
    },
  };
}
