import { describe, expect, it } from 'vitest';
import { launchBrowser } from './index.ts';

describe('launchBrowser', () => {
  it('fails loudly when Chromium is missing', async () => {
    await expect(launchBrowser({ executablePath: '/nonexistent/chromium' })).rejects.toThrow(
      /\/nonexistent\/chromium not found.*apt-get install -y --no-install-recommends chromium/,
    );
  });
});
