#!/usr/bin/env node
// Decision records: checks every file of docs/decisions/ against the form and (re)writes the index,
// docs/decisions/README.md, from their titles and status. Any `*.md` added to the folder is picked up.
//   node scripts/decisions-index.mjs           check the files, then write the index (exit 1 if a file is wrong)
//   node scripts/decisions-index.mjs --check   check the files and that the index is current (the static tier)
//   --dir <folder>                             another folder of decision files (the script's own tests use it)
// The form of a decision file (blank lines between the parts are free):
//   # <Title>
//   Status: accepted · <YYYY-MM>                  or: Status: superseded by [<slug>](<slug>.md) · <YYYY-MM>
//   ## What   ## Why   ## Considered              in this order, none empty; further ## sections may follow What
// Also checked: kebab-case file names, unique titles, relative links that resolve, and the version-pins table (every
// `code` of a row's "Pinned" cell must appear in each file its "Set in" cell names, so a bump that forgets the table
// fails here).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';

const repoRoot = resolve(import.meta.dirname, '..');
const { values: options } = parseArgs({
  options: { check: { type: 'boolean', default: false }, dir: { type: 'string' } },
  strict: true,
});
const dir = resolve(options.dir ?? join(repoRoot, 'docs', 'decisions'));
const indexPath = join(dir, 'README.md');
const pinsFile = 'version-pins.md';

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const STATUS = /^Status: (accepted|superseded by (?:\[[^\]]+\]\(([^)\s]+)\)|([a-z0-9-]+))) · (\d{4})-(\d{2})$/;
const REQUIRED_SECTIONS = ['What', 'Why', 'Considered'];

/** @type {string[]} */
const problems = [];
const where = (file) => relative(process.cwd(), join(dir, file)) || file;
const problem = (file, message) => problems.push(`${where(file)}: ${message}`);

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text) {
  const lines = [];
  let fence = null;
  text.split('\n').forEach((line, index) => {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker && (fence === null || marker.startsWith(fence))) fence = fence === null ? marker.slice(0, 3) : null;
    else if (fence === null) lines.push({ number: index + 1, line });
  });
  return lines;
}

/** Parses and checks one decision file; returns its entry for the index, or null when it cannot be indexed. */
function readDecision(file) {
  const slug = file.slice(0, -'.md'.length);
  if (!SLUG.test(slug)) problem(file, 'the file name must be kebab-case: lower-case letters, digits and single dashes');
  const text = readFileSync(join(dir, file), 'utf8');
  const lines = proseLines(text).filter(({ line }) => line.trim() !== '');
  const [titleLine, statusLine, ...rest] = lines;
  if (!titleLine || !/^# \S/.test(titleLine.line)) {
    problem(file, 'the first line must be the title: "# <Title>"');
    return null;
  }
  const title = titleLine.line.slice(2).trim();
  const status = statusLine && STATUS.exec(statusLine.line);
  if (!status) {
    problem(
      file,
      `line ${statusLine?.number ?? titleLine.number + 1}: the line after the title must be "Status: accepted · YYYY-MM" ` +
        `or "Status: superseded by [<slug>](<slug>.md) · YYYY-MM", found ${JSON.stringify(statusLine?.line ?? '')}`,
    );
    return null;
  }
  const [, statusText, supersededLink, supersededSlug, year, month] = status;
  if (Number(month) < 1 || Number(month) > 12) problem(file, `line ${statusLine.number}: month ${month} is not 01-12`);
  let supersededBy = null;
  if (statusText.startsWith('superseded')) {
    supersededBy = supersededLink ? supersededLink.replace(/\.md$/, '') : supersededSlug;
    if (!existsSync(join(dir, `${supersededBy}.md`)))
      problem(
        file,
        `line ${statusLine.number}: superseded by "${supersededBy}", but ${supersededBy}.md does not exist`,
      );
    if (supersededBy === slug) problem(file, `line ${statusLine.number}: a decision cannot supersede itself`);
  }

  const headings = rest.filter(({ line }) => /^#{1,2} /.test(line));
  if (rest.length > 0 && rest[0] !== headings[0])
    problem(
      file,
      `line ${rest[0].number}: "## What" must follow the status line, found ${JSON.stringify(rest[0].line)}`,
    );
  for (const { number, line } of headings.filter(({ line }) => line.startsWith('# ')))
    problem(file, `line ${number}: only one "# " title per file (use "## " or "### " below it): ${line}`);
  const sections = headings.filter(({ line }) => line.startsWith('## ')).map((h) => ({ ...h, name: h.line.slice(3) }));
  if (sections[0]?.name !== 'What') problem(file, 'the first section must be "## What"');
  let previous = -1;
  for (const name of REQUIRED_SECTIONS) {
    const index = sections.findIndex((section) => section.name === name);
    if (index === -1) {
      problem(file, `missing section "## ${name}" (the form is What, Why, Considered)`);
      continue;
    }
    if (sections.filter((section) => section.name === name).length > 1) problem(file, `"## ${name}" appears twice`);
    if (index < previous) problem(file, `"## ${name}" is out of order (the form is What, Why, Considered)`);
    previous = index;
    const start = sections[index].number;
    const end = sections[index + 1]?.number ?? Number.POSITIVE_INFINITY;
    if (!rest.some(({ number, line }) => number > start && number < end && !/^#{1,6} /.test(line)))
      problem(file, `line ${start}: "## ${name}" is empty`);
  }

  for (const { number, line } of proseLines(text)) {
    for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      const path = resolve(dir, decodeURI(target.split('#')[0]));
      if (!existsSync(path))
        problem(file, `line ${number}: the link ${target} points to nothing (${relative(repoRoot, path)})`);
    }
  }
  return { slug, file, title, supersededBy, since: `${year}-${month}` };
}

/** Splits a markdown table row into its cells (a `\|` inside a cell stays in the cell). */
function cells(row) {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** Every `code` span of the "Pinned" cell must appear in each file of the "Set in" cell. */
function checkVersionPins() {
  if (!existsSync(join(dir, pinsFile))) return;
  const rows = proseLines(readFileSync(join(dir, pinsFile), 'utf8')).filter(({ line }) => line.trim().startsWith('|'));
  const header = rows[0] && cells(rows[0].line).map((cell) => cell.toLowerCase());
  const pinned = header?.indexOf('pinned') ?? -1;
  const setIn = header?.indexOf('set in') ?? -1;
  if (pinned === -1 || setIn === -1) {
    problem(pinsFile, 'needs a table with the columns "Pinned" and "Set in"');
    return;
  }
  const codes = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
  for (const { number, line } of rows.slice(2)) {
    const row = cells(line);
    const tokens = codes(row[pinned] ?? '');
    const files = codes(row[setIn] ?? '');
    if (tokens.length > 0 && files.length === 0)
      problem(pinsFile, `line ${number}: a pinned version needs "Set in" files`);
    for (const path of files) {
      const absolute = resolve(repoRoot, path);
      if (!existsSync(absolute)) {
        problem(pinsFile, `line ${number}: "Set in" names ${path}, which does not exist`);
        continue;
      }
      const content = readFileSync(absolute, 'utf8');
      for (const token of tokens)
        if (!content.includes(token))
          problem(pinsFile, `line ${number}: ${row[0]} is pinned at \`${token}\`, but ${path} does not contain it`);
    }
  }
}

function renderIndex(decisions) {
  const escape = (text) => text.replaceAll('|', '\\|');
  const byTitle = (a, b) => a.title.localeCompare(b.title, 'en', { sensitivity: 'base' });
  const accepted = decisions.filter((d) => d.supersededBy === null).sort(byTitle);
  const superseded = decisions.filter((d) => d.supersededBy !== null).sort(byTitle);
  const titleOf = new Map(decisions.map((d) => [d.slug, d.title]));
  const lines = [
    '# Decisions',
    '',
    '<!-- Generated by scripts/decisions-index.mjs from the files in this folder: do not edit by hand. -->',
    '',
    'One file per decision others will wonder about: what we do, why, and what else we considered. Every pinned',
    `version is in one table: [version pins](${pinsFile}). For the code these decisions shape, see the`,
    '[architecture overview](../architecture.md).',
    '',
    'To add a decision, write `docs/decisions/<kebab-slug>.md` in this form, then run',
    '`node scripts/decisions-index.mjs` to update this index (the static tier fails while a file lacks the form or the',
    'index is stale). To replace one, write the new file and set the old one to',
    '`Status: superseded by [<new-slug>](<new-slug>.md) · <YYYY-MM>`; fold a later finding into the decision it amends.',
    '',
    '```md',
    '# <Title>',
    '',
    'Status: accepted · <YYYY-MM>',
    '',
    '## What',
    '',
    '## Why',
    '',
    '## Considered',
    '```',
    '',
    `## Accepted (${accepted.length})`,
    '',
    '| Decision | Since |',
    '| --- | --- |',
    ...accepted.map((d) => `| [${escape(d.title)}](${d.file}) | ${d.since} |`),
    '',
  ];
  if (superseded.length > 0) {
    lines.push(
      `## Superseded (${superseded.length})`,
      '',
      '| Decision | Since | Superseded by |',
      '| --- | --- | --- |',
    );
    for (const d of superseded)
      lines.push(
        `| [${escape(d.title)}](${d.file}) | ${d.since} | [${escape(titleOf.get(d.supersededBy) ?? d.supersededBy)}](${d.supersededBy}.md) |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

if (!existsSync(dir)) {
  console.error(`decisions-index: no folder ${dir}`);
  process.exit(2);
}
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.md') && file !== 'README.md')
  .sort();
const others = readdirSync(dir).filter((file) => !file.endsWith('.md'));
for (const file of others) problem(file, 'only decision files (*.md) belong in this folder');
const decisions = files.map(readDecision).filter((decision) => decision !== null);
const seen = new Map();
for (const decision of decisions) {
  const key = decision.title.toLowerCase();
  if (seen.has(key)) problem(decision.file, `the title "${decision.title}" is also the title of ${seen.get(key)}`);
  else seen.set(key, decision.file);
}
checkVersionPins();

const config = (await prettier.resolveConfig(indexPath)) ?? {};
const index = await prettier.format(renderIndex(decisions), { ...config, filepath: indexPath });
const current = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : null;
if (options.check) {
  if (current !== index)
    problems.push(
      `${where('README.md')}: ${current === null ? 'missing' : 'stale'}; run: node ${relative(process.cwd(), join(repoRoot, 'scripts', 'decisions-index.mjs'))}`,
    );
} else if (current !== index) {
  writeFileSync(indexPath, index);
  console.log(`decisions-index: wrote ${where('README.md')} (${decisions.length} decisions)`);
}
if (problems.length > 0) {
  console.error(`decisions-index: ${problems.length} problem(s) in ${relative(process.cwd(), dir) || dir}:`);
  for (const line of problems) console.error(`  ${line}`);
  process.exit(1);
}
if (options.check)
  console.log(`decisions-index: ${decisions.length} decisions in ${relative(repoRoot, dir)}, index current`);
