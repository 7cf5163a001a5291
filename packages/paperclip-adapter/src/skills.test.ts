import { describe, expect, it } from 'vitest';
import { createFakeContext, createMemoryHostFiles } from '../test/fakes.ts';
import { buildInvocation } from './build-invocation.ts';
import { buildSkillSnapshot } from './skills.ts';
import { FILES_MOUNT_PATH } from './invocation/pod-layout.ts';
import { parseAdapterConfig } from './config-schema.ts';
import { listRunFiles } from './invocation/launch-request.ts';

const hostFiles = createMemoryHostFiles({
  '/srv/skills/release-notes/SKILL.md': 'notes',
  '/srv/skills/review/SKILL.md': 'review',
  '/srv/skills/plain/SKILL.md': 'plain',
});

describe('skills panel and run agree', () => {
  // Runtime names Paperclip may send that are not safe directory names, and an entry without a runtime name (its key,
  // which holds slashes, names the directory).
  const runtimeSkills = [
    { key: 'company/release-notes', runtimeName: 'Release Notes', source: '/srv/skills/release-notes' },
    { key: 'company/review', source: '/srv/skills/review' },
    { key: 'company/plain', runtimeName: 'plain', source: '/srv/skills/plain' },
  ];

  it('the target path the skills panel shows is the directory where the run puts the skill files', async () => {
    const context = createFakeContext({ configOverrides: { paperclipRuntimeSkills: runtimeSkills } });
    const parsed = parseAdapterConfig(context.config);
    if (!parsed.success) throw new Error(JSON.stringify(parsed.issues));
    const built = await buildInvocation(context, parsed.value, { hostFiles, serverEnv: {}, defaultNamespace: 'x' });
    if (!built.success) throw new Error(built.message);
    const landed = new Map<string, string>();
    for (const file of listRunFiles(built.value.launch)) {
      if (file.path === null || !file.path.endsWith('/SKILL.md')) continue;
      const content = typeof file.content === 'string' ? file.content : new TextDecoder().decode(file.content);
      landed.set(content, `${FILES_MOUNT_PATH}/${file.path.slice(0, -'/SKILL.md'.length)}`);
    }
    const snapshot = buildSkillSnapshot(context.config, null);
    const shown = new Map(snapshot.entries.map((entry) => [entry.key, entry.targetPath]));
    expect(landed.size).toBe(3);
    expect(shown.get('company/release-notes')).toBe(landed.get('notes'));
    expect(shown.get('company/review')).toBe(landed.get('review'));
    expect(shown.get('company/plain')).toBe(landed.get('plain'));
  });
});

describe('skills panel: what a run cannot ship', () => {
  it('shows as missing, with the reason the run notes when it skips it', async () => {
    const config = {
      paperclipRuntimeSkills: [
        { key: 'company/nowhere', runtimeName: 'nowhere' },
        { key: 'company/first', runtimeName: 'same', source: '/srv/skills/plain' },
        { key: 'company/second', runtimeName: 'same', source: '/srv/skills/review' },
      ],
      paperclipSkillSync: {
        desiredSkills: [{ key: 'company/nowhere', versionId: 'v1' }, 'company/first', 'company/second'],
      },
    };
    const snapshot = buildSkillSnapshot(config, null);
    expect(snapshot.entries.map((entry) => [entry.key, entry.state, entry.detail])).toEqual([
      ['company/nowhere', 'missing', 'the runtime skill list gives no source directory'],
      ['company/first', 'configured', null],
      ['company/second', 'missing', 'its directory same is already taken by skill company/first'],
    ]);
    expect(snapshot.entries[2]?.targetPath).toBe(snapshot.entries[1]?.targetPath);

    const context = createFakeContext({ configOverrides: config });
    const parsed = parseAdapterConfig(context.config);
    if (!parsed.success) throw new Error(JSON.stringify(parsed.issues));
    const built = await buildInvocation(context, parsed.value, { hostFiles, serverEnv: {}, defaultNamespace: 'x' });
    if (!built.success) throw new Error(built.message);
    expect(built.value.notes.slice(0, 2)).toEqual([
      'skill company/nowhere skipped: the runtime skill list gives no source directory',
      'skill company/second skipped: its directory same is already taken by skill company/first',
    ]);
    expect(snapshot.warnings).toEqual([
      'skill company/nowhere: the runtime skill list gives no source directory; runs skip it',
      'skill company/second: its directory same is already taken by skill company/first; runs skip it',
    ]);
    expect(listRunFiles(built.value.launch).filter((file) => file.key.startsWith('skill-'))).toEqual([
      expect.objectContaining({
        path: 'skills/.claude/skills/same/SKILL.md',
        content: new TextEncoder().encode('plain'),
      }),
    ]);
  });
});
