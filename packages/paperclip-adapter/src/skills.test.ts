import { describe, expect, it } from 'vitest';
import { createFakeContext, createMemoryHostFiles } from '../test/fakes.ts';
import { buildInvocation, buildSkillSnapshot, FILES_MOUNT_PATH, parseAdapterConfig } from './index.ts';

describe('skills panel and run agree', () => {
  // Runtime names Paperclip may send that are not safe directory names, and an entry without a runtime name (its key,
  // which holds slashes, names the directory).
  const runtimeSkills = [
    { key: 'company/release-notes', runtimeName: 'Release Notes', source: '/srv/skills/release-notes' },
    { key: 'company/review', source: '/srv/skills/review' },
    { key: 'company/plain', runtimeName: 'plain', source: '/srv/skills/plain' },
  ];
  const hostFiles = createMemoryHostFiles({
    '/srv/skills/release-notes/SKILL.md': 'notes',
    '/srv/skills/review/SKILL.md': 'review',
    '/srv/skills/plain/SKILL.md': 'plain',
  });

  it('the target path the skills panel shows is the directory where the run puts the skill files', async () => {
    const context = createFakeContext({ configOverrides: { paperclipRuntimeSkills: runtimeSkills } });
    const parsed = parseAdapterConfig(context.config);
    if (!parsed.success) throw new Error(JSON.stringify(parsed.issues));
    const built = await buildInvocation(context, parsed.value, { hostFiles, serverEnv: {}, defaultNamespace: 'x' });
    if (!built.success) throw new Error(built.message);
    const landed = new Map<string, string>();
    for (const file of built.value.request.files.entries) {
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
