import { describe, expect, it } from 'vitest';
import type { HostInputs } from './host-inputs.ts';
import { buildPromptBundle, instructionsPathDirective, type PromptBundle } from './prompt-bundle.ts';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const skill = { key: 'k/a', runtimeName: 'a', source: '/srv/a' };

function bundle(host: HostInputs): PromptBundle {
  const result = buildPromptBundle(host);
  if (!result.success) throw new Error(result.message);
  return result;
}

const withSkill = (files: Record<string, string>, instructions: string | null = null): HostInputs => ({
  instructions: instructions === null ? null : { path: '/i.md', read: { ok: true, value: instructions } },
  skills: [
    {
      skill,
      read: { ok: true, value: Object.entries(files).map(([path, text]) => ({ path, content: encode(text) })) },
    },
  ],
});

describe('buildPromptBundle', () => {
  it('has no key without instructions and skills', () => {
    expect(bundle({ instructions: null, skills: [] })).toEqual({
      success: true,
      instructions: null,
      instructionFiles: [],
      skillFiles: [],
      key: null,
      notes: [],
    });
  });

  it('lays skill files out sorted under the skill directory, confined to it', () => {
    const result = bundle(withSkill({ 'z.md': 'z', 'SKILL.md': 's', '../../escape.sh': 'e', './': '' }));
    expect(result.skillFiles.map((file) => [file.key, file.path, file.sensitive])).toEqual([
      ['skill-0-0', 'skills/.claude/skills/a/escape.sh', false],
      ['skill-0-2', 'skills/.claude/skills/a/SKILL.md', false],
      ['skill-0-3', 'skills/.claude/skills/a/z.md', false],
    ]);
  });

  it('keys the bundle on the instructions and on every skill file path and content', () => {
    const base = bundle(withSkill({ 'SKILL.md': 's' }, '# I'));
    expect(base.key).toMatch(/^[0-9a-f]{32}$/);
    expect(bundle(withSkill({ 'SKILL.md': 's' }, '# I')).key).toBe(base.key);
    expect(bundle(withSkill({ 'SKILL.md': 't' }, '# I')).key).not.toBe(base.key);
    expect(bundle(withSkill({ 'OTHER.md': 's' }, '# I')).key).not.toBe(base.key);
    expect(bundle(withSkill({ 'SKILL.md': 's' }, '# J')).key).not.toBe(base.key);
    expect(bundle({ instructions: { path: '/i.md', read: { ok: true, value: '' } }, skills: [] }).key).toMatch(
      /^[0-9a-f]{32}$/,
    );
  });

  it('warns on an unreadable instructions file and goes on without instructions (as claude_local)', () => {
    expect(
      buildPromptBundle({ instructions: { path: '/i.md', read: { ok: false, error: 'EACCES' } }, skills: [] }),
    ).toEqual({
      success: true,
      instructions: null,
      instructionFiles: [],
      skillFiles: [],
      key: null,
      notes: ['Warning: could not read agent instructions file "/i.md": EACCES; the run has no instructions.'],
    });
  });

  it('appends the path directive naming the pod path of the instructions and its directory', () => {
    const built = buildPromptBundle({
      instructions: { path: '/host/AGENTS.md', read: { ok: true, value: '# Me' } },
      skills: [],
    });
    expect(built.success && built.instructions).toBe(
      `# Me${instructionsPathDirective('/run/ck8s/files/instructions.md', '/run/ck8s/files/instructions/')}`,
    );
    expect(instructionsPathDirective('/run/ck8s/files/instructions.md', '/run/ck8s/files/instructions/')).toContain(
      'file /run/ck8s/files/instructions.md. Resolve the relative file references they make from /run/ck8s/files/instructions/;',
    );
  });

  it('ships the top-level .md siblings of the instructions file under instructions/, keyed into the bundle', () => {
    const enc = (text: string) => new TextEncoder().encode(text);
    const host = (heartbeat: string): HostInputs => ({
      instructions: { path: '/a/AGENTS.md', read: { ok: true, value: '# Me' } },
      instructionsDirectory: {
        ok: true,
        value: [
          { path: 'SOUL.md', content: enc('soul') },
          { path: 'AGENTS.md', content: enc('# Me') },
          { path: 'HEARTBEAT.md', content: enc(heartbeat) },
          { path: 'notes.txt', content: enc('x') },
          { path: 'sub/TOOLS.md', content: enc('x') },
        ],
      },
      skills: [],
    });
    const built = buildPromptBundle(host('beat'));
    if (!built.success) throw new Error(built.message);
    expect(built.instructionFiles.map(({ key, path }) => [key, path])).toEqual([
      ['instructions-0', 'instructions/HEARTBEAT.md'],
      ['instructions-1', 'instructions/SOUL.md'],
    ]);
    const changed = buildPromptBundle(host('beat 2'));
    expect(changed.success && changed.key).not.toBe(built.key);
    const unreadable = buildPromptBundle({
      ...host(''),
      instructionsDirectory: { ok: false, error: 'too many files' },
    });
    expect(unreadable.success && unreadable.notes).toEqual([
      'Warning: could not read the instructions directory of "/a/AGENTS.md": too many files; its sibling files are not shipped.',
    ]);
  });

  it('fails on an unreadable skill directory, naming it', () => {
    expect(
      buildPromptBundle({ instructions: null, skills: [{ skill, read: { ok: false, error: 'ENOENT' } }] }),
    ).toEqual({ success: false, code: 'adapter_host_file_unreadable', message: 'read skill k/a at /srv/a: ENOENT' });
  });
});
