import { resolveLegacyPaperclipDesiredSkillNames } from '@paperclipai/adapter-utils/server-utils';
import { describe, expect, it } from 'vitest';
import { parseRuntimeSkills, selectRunSkills, skillTargetPath } from './runtime-skills.ts';

describe('parseRuntimeSkills', () => {
  it('normalises each entry once: directory-safe runtime names, the key when none is given, trimmed text', () => {
    const list = parseRuntimeSkills({
      paperclipRuntimeSkills: [
        { key: ' company/notes ', runtimeName: 'Release Notes', source: ' /srv/notes ', versionId: 'v2' },
        { key: 'company/review', source: '/srv/review' },
        { key: 'company/dots', runtimeName: '..hidden', source: '/srv/dots' },
      ],
    });
    expect(list.skills.map((skill) => [skill.key, skill.runtimeName, skill.source, skill.unavailable])).toEqual([
      ['company/notes', 'Release-Notes', '/srv/notes', null],
      ['company/review', 'company-review', '/srv/review', null],
      ['company/dots', 'hidden', '/srv/dots', null],
    ]);
    expect(list.skills[0]?.versionId).toBe('v2');
    expect(list.desired).toBeNull();
    expect(list.problems).toEqual([]);
  });

  it('marks what a run cannot ship, each with its reason', () => {
    const list = parseRuntimeSkills({
      paperclipRuntimeSkills: [
        { key: 'a/gone', runtimeName: 'gone', source: '/srv/gone', sourceStatus: 'missing', missingDetail: 'deleted' },
        { key: 'a/nowhere', runtimeName: 'nowhere' },
        { key: 'a/unnamed', runtimeName: '...', source: '/srv/x' },
        { key: 'a/first', runtimeName: 'same', source: '/srv/1' },
        { key: 'a/second', runtimeName: 'same', source: '/srv/2' },
      ],
    });
    expect(list.skills.map((skill) => skill.unavailable)).toEqual([
      'its source is missing on the Paperclip server (deleted)',
      'the runtime skill list gives no source directory',
      'its runtime name has no letter, digit, ".", "_" or "-" to name a directory',
      null,
      'its directory same is already taken by skill a/first',
    ]);
    expect(list.skills[0]?.unavailableDetail).toBe('deleted');
  });

  it('names entries it cannot read instead of dropping them silently', () => {
    expect(parseRuntimeSkills({ paperclipRuntimeSkills: [{ runtimeName: 'x' }, 'text'] }).problems).toEqual([
      'paperclipRuntimeSkills.0: expected an entry with a key; ignored',
      'paperclipRuntimeSkills.1: expected an entry with a key; ignored',
    ]);
    expect(parseRuntimeSkills({ paperclipRuntimeSkills: 'a/b' }).problems).toEqual([
      'paperclipRuntimeSkills: expected a list; no skill is shipped',
    ]);
    expect(parseRuntimeSkills({})).toEqual({ skills: [], desired: null, runDesired: null, problems: [] });
  });

  it('reads the desired set as Paperclip writes it: keys, or {key, versionId} objects', () => {
    expect(parseRuntimeSkills({ paperclipSkillSync: { desiredSkills: ['a/x', ' a/y ', 'a/x', 3] } }).desired).toEqual([
      'a/x',
      'a/y',
    ]);
    expect(
      parseRuntimeSkills({ paperclipSkillSync: { desiredSkills: [{ key: 'a/x', versionId: 'v1' }, 'a/z'] } }).desired,
    ).toEqual(['a/x', 'a/z']);
    expect(parseRuntimeSkills({ paperclipSkillSync: { desiredSkills: [] } }).desired).toEqual([]);
    expect(parseRuntimeSkills({ paperclipSkillSync: {} }).desired).toBeNull();
  });
});

describe('selectRunSkills', () => {
  const config = {
    paperclipRuntimeSkills: [
      { key: 'a/zeta', runtimeName: 'zeta', source: '/srv/zeta' },
      { key: 'a/alpha', runtimeName: 'alpha', source: '/srv/alpha' },
      { key: 'a/gone', runtimeName: 'gone', source: '/srv/gone', sourceStatus: 'missing' },
      { key: 'a/other', runtimeName: 'other', source: '/srv/other' },
    ],
  };

  it('ships every available skill when no desired set is stored, sorted by directory name, and notes the rest', () => {
    const selection = selectRunSkills(parseRuntimeSkills(config));
    expect(selection.skills.map((skill) => skill.runtimeName)).toEqual(['alpha', 'other', 'zeta']);
    expect(selection.notes).toEqual(['skill a/gone skipped: its source is missing on the Paperclip server']);
  });

  it('ships only desired skills; an undesired unavailable skill is no note', () => {
    const selection = selectRunSkills(
      parseRuntimeSkills({ ...config, paperclipSkillSync: { desiredSkills: ['a/zeta', 'a/alpha'] } }),
    );
    expect(selection).toEqual({
      skills: [
        { key: 'a/alpha', runtimeName: 'alpha', source: '/srv/alpha' },
        { key: 'a/zeta', runtimeName: 'zeta', source: '/srv/zeta' },
      ],
      notes: [],
    });
  });

  it("resolves a stored desired set as claude_local does: canonical keys, Paperclip's operational skill always shipped", () => {
    const withOperational = {
      paperclipRuntimeSkills: [
        ...config.paperclipRuntimeSkills,
        { key: 'paperclipai/paperclip/paperclip', runtimeName: 'paperclip', source: '/srv/paperclip' },
      ],
    };
    const list = parseRuntimeSkills({ ...withOperational, paperclipSkillSync: { desiredSkills: ['alpha'] } });
    expect(list.runDesired).toEqual(
      resolveLegacyPaperclipDesiredSkillNames(
        { paperclipSkillSync: { desiredSkills: ['alpha'] } },
        withOperational.paperclipRuntimeSkills.filter((skill) => skill.sourceStatus === undefined),
      ),
    );
    expect(selectRunSkills(list).skills.map((skill) => skill.key)).toEqual([
      'a/alpha',
      'paperclipai/paperclip/paperclip',
    ]);
    const empty = parseRuntimeSkills({ ...withOperational, paperclipSkillSync: { desiredSkills: [] } });
    expect(selectRunSkills(empty).skills.map((skill) => skill.key)).toEqual(['paperclipai/paperclip/paperclip']);
  });

  it('passes the parse problems on as notes', () => {
    expect(selectRunSkills(parseRuntimeSkills({ paperclipRuntimeSkills: [{}] })).notes).toEqual([
      'paperclipRuntimeSkills.0: expected an entry with a key; ignored',
    ]);
  });
});

it('skillTargetPath is the skill directory below the per-run files mount', () => {
  expect(skillTargetPath('paperclip')).toBe('/run/ck8s/files/skills/.claude/skills/paperclip');
});
