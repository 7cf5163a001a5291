import { describe, expect, it } from 'vitest';
import { createMemoryHostFiles } from '../../test/fakes.ts';
import { readHostInputs } from './host-inputs.ts';

const hostFiles = createMemoryHostFiles({
  '/srv/AGENTS.md': '# Be careful',
  '/srv/skills/a/SKILL.md': 'a',
  '/srv/skills/a/scripts/run.sh': 'echo',
});
const skill = { key: 'k/a', runtimeName: 'a', source: '/srv/skills/a' };

describe('readHostInputs', () => {
  it('reads the instructions as text and every file of each skill directory', async () => {
    const inputs = await readHostInputs(hostFiles, { instructionsFilePath: '/srv/AGENTS.md', skills: [skill] });
    expect(inputs.instructions).toEqual({ path: '/srv/AGENTS.md', read: { ok: true, value: '# Be careful' } });
    const directory = inputs.instructionsDirectory;
    expect(directory?.ok === true && directory.value.map((file) => file.path).sort()).toEqual([
      'AGENTS.md',
      'skills/a/SKILL.md',
      'skills/a/scripts/run.sh',
    ]);
    const read = inputs.skills[0]?.read;
    expect(read?.ok === true && read.value.map((file) => file.path).sort()).toEqual(['SKILL.md', 'scripts/run.sh']);
  });

  it('turns read failures into data and reads nothing that is not configured', async () => {
    const files = createMemoryHostFiles({});
    const inputs = await readHostInputs(files, {
      instructionsFilePath: '/nope.md',
      skills: [{ ...skill, source: '/gone' }],
    });
    expect(inputs.instructions?.read).toEqual({ ok: false, error: 'ENOENT: /nope.md' });
    expect(inputs.skills[0]?.read).toEqual({ ok: false, error: 'ENOENT: /gone' });
    const none = createMemoryHostFiles({});
    expect(await readHostInputs(none, { instructionsFilePath: undefined, skills: [] })).toEqual({
      instructions: null,
      instructionsDirectory: null,
      skills: [],
      workspace: null,
    });
    expect(none.reads).toEqual([]);
  });
});
