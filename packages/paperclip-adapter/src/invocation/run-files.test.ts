import { describe, expect, it } from 'vitest';
import { buildRunFiles, byteLength, checkRunFilesSize, MAX_RUN_FILES_BYTES } from './run-files.ts';

const skillFile = { key: 'skill-0-0', path: 'skills/.claude/skills/a/SKILL.md', content: 's', sensitive: false };

describe('buildRunFiles', () => {
  it('a fresh session gets prompt, instructions, MCP config (sensitive) and skills', () => {
    const runFiles = buildRunFiles({
      promptText: 'Do it',
      instructions: '# I',
      mcpConfig: { mcpServers: { a: { url: 'https://a' } } },
      skillFiles: [skillFile],
      resumed: false,
    });
    expect(runFiles.files).toEqual([
      { key: 'prompt.md', path: 'prompt.md', content: 'Do it', sensitive: false },
      { key: 'instructions.md', path: 'instructions.md', content: '# I', sensitive: false },
      {
        key: 'mcp-config.json',
        path: 'mcp-config.json',
        content: '{\n  "mcpServers": {\n    "a": {\n      "url": "https://a"\n    }\n  }\n}\n',
        sensitive: true,
      },
      skillFile,
    ]);
    expect(runFiles.shipped).toEqual({ instructions: true, mcpConfig: true, skills: true });
  });

  it('a resumed session already has its instructions; absent parts ship nothing', () => {
    const runFiles = buildRunFiles({
      promptText: 'Do it',
      instructions: '# I',
      mcpConfig: null,
      skillFiles: [],
      resumed: true,
    });
    expect(runFiles.files.map((file) => file.key)).toEqual(['prompt.md']);
    expect(runFiles.shipped).toEqual({ instructions: false, mcpConfig: false, skills: false });
  });
});

describe('checkRunFilesSize', () => {
  it('passes up to the limit and names the sizes past it', () => {
    const prompt = { key: 'prompt.md', path: 'prompt.md', content: 'p'.repeat(100), sensitive: false };
    const filler = (bytes: number) => ({
      key: 'skill-0-1',
      path: 'x',
      content: new Uint8Array(bytes),
      sensitive: false,
    });
    expect(checkRunFilesSize([prompt, skillFile, filler(MAX_RUN_FILES_BYTES - 101)])).toBeNull();
    expect(checkRunFilesSize([prompt, skillFile, filler(MAX_RUN_FILES_BYTES - 100)])).toEqual({
      success: false,
      code: 'adapter_files_too_large',
      message: `the run's files take ${MAX_RUN_FILES_BYTES + 1} bytes (prompt 100, 2 skill files), more than the 921600 a Secret can hold`,
    });
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(byteLength('é')).toBe(2);
    expect(byteLength(new Uint8Array(3))).toBe(3);
  });
});
