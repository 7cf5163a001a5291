/**
 * Writes `docs/configuration.md` (every configuration field of the adapter) from the one config schema. Run from the
 * repository root or anywhere:
 *
 *   node --conditions=@claude-k8s/source packages/paperclip-adapter/scripts/write-config-doc.ts
 *
 * `src/config-doc.test.ts` regenerates the text and fails when the committed file differs. Tables are padded the way
 * Prettier pads them, so `prettier --check` leaves the generated file alone.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA, getConfigSchema, PAPERCLIP_MANAGED_KEYS } from '../src/config-schema.ts';
import { LEGACY_KEY_MAPPINGS } from '../src/legacy-config.ts';
import { listLeaves } from '../src/config-field-schema.ts';

/** Where the generated document lives. */
export const CONFIG_DOC_PATH = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

/** The command that regenerates the document (shown in its header and in the test's failure). */
export const CONFIG_DOC_COMMAND =
  'node --conditions=@claude-k8s/source packages/paperclip-adapter/scripts/write-config-doc.ts';

function cell(text: string): string {
  return text.replace(/(?<!\\)\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${text}\``;
}

/** A Markdown table, padded per column as Prettier formats it. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows].map((row) => row.map(cell));
  const widths = header.map((_, column) => Math.max(3, ...all.map((row) => [...(row[column] ?? '')].length)));
  const line = (row: readonly string[]): string =>
    `| ${row.map((value, column) => value + ' '.repeat((widths[column] ?? 0) - [...value].length)).join(' | ')} |`;
  const [head, ...body] = all;
  return [line(head ?? []), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...body.map(line)];
}

function formatDefault(value: unknown): string {
  if (value === undefined) return '—';
  if (Array.isArray(value) && value.length === 0) return code('[]');
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) return code('{}');
  return code(JSON.stringify(value));
}

/** The whole document, as committed. */
export function renderConfigurationDoc(): string {
  const formFields = new Map(getConfigSchema().fields.map((field) => [field.key, field]));
  const lines: string[] = [
    '# claude_k8s configuration reference',
    '',
    `<!-- Generated from CONFIG_SCHEMA (packages/paperclip-adapter/src/config-schema.ts) by ${CONFIG_DOC_COMMAND}. Do not edit by hand. -->`,
    '',
    "Every key of a `claude_k8s` agent's `adapterConfig`, in the order of Paperclip's form, grouped as the form groups",
    'them. Keys may be nested (`{"resources": {"limits": {"memory": "4Gi"}}}`) or flat dotted',
    '(`{"resources.limits.memory": "4Gi"}`, what the form stores). Lists and maps also accept the text forms the form',
    'fields hold (one item per line, `key=value` lines, JSON text). Unknown keys are ignored with a warning; an invalid',
    'value fails the run with `adapter_config_invalid`, listing every problem with its key. The user guide',
    '([guide.md](guide.md)) explains how the fields work together.',
  ];
  let group = '';
  let rows: string[][] = [];
  const flush = (): void => {
    if (rows.length === 0) return;
    lines.push(...table(['key', 'form label', 'type', 'default', 'unit', 'meaning'], rows));
    rows = [];
  };
  for (const { path, leaf } of listLeaves(CONFIG_SCHEMA)) {
    if (leaf.meta.group !== group) {
      flush();
      group = leaf.meta.group;
      lines.push('', `## ${group}`, '');
    }
    const field = formFields.get(path);
    const meaning = [leaf.meta.required === true ? '**Required.**' : '', leaf.meta.hint];
    if (leaf.enumValues === undefined && field?.type === 'combobox' && field.options !== undefined)
      meaning.push(`Suggested: ${field.options.map((option) => code(option.value)).join(', ')}.`);
    if (leaf.meta.see !== undefined) meaning.push(`See ${leaf.meta.see}.`);
    rows.push([
      code(path),
      leaf.meta.label,
      leaf.typeLabel,
      formatDefault(leaf.defaultValue),
      leaf.meta.unit ?? '—',
      meaning.filter((part) => part !== '').join(' '),
    ]);
  }
  flush();
  lines.push(
    '',
    '## Keys Paperclip writes',
    '',
    'Paperclip itself stores these keys in `adapterConfig`; they are accepted without a warning and not validated (the',
    'skill keys select which skills are shipped into the pod):',
    '',
    ...PAPERCLIP_MANAGED_KEYS.map((key) => `- ${code(key)}`),
    '',
    '## Keys of the predecessor (`paperclip-adapter-claude-k8s`)',
    '',
    'Accepted, mapped to the current key where one exists, each with a warning (shown as a run event and in the',
    'environment test):',
    '',
    ...table(
      ['predecessor key', 'becomes', 'what happens'],
      LEGACY_KEY_MAPPINGS.map((mapping) => [
        code(mapping.key),
        mapping.mapsTo === null
          ? '—'
          : mapping.mapsTo
              .split(', ')
              .map((key) => code(key))
              .join(', '),
        mapping.note,
      ]),
    ),
    '',
  );
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOC_PATH, renderConfigurationDoc());
  process.stdout.write(`wrote ${CONFIG_DOC_PATH}\n`);
}
