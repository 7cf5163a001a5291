import { describe, expect, it } from 'vitest';
import { displayWidth, truncateToWidth, wrapToWidth } from './text-width.ts';

describe('text width', () => {
  it('counts wide, zero-width and combining characters as terminals draw them', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('é')).toBe(1);
    expect(displayWidth('👍🏽')).toBe(2);
    expect(displayWidth('a\u200bb')).toBe(2);
  });

  it('never splits a surrogate pair when cutting or wrapping', () => {
    const text = '😀'.repeat(30);
    const cut = truncateToWidth(text, 11);
    expect(cut).toBe(`${'😀'.repeat(5)}…`);
    for (const piece of wrapToWidth(text, 7)) {
      expect(piece).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      expect(displayWidth(piece)).toBeLessThanOrEqual(7);
    }
    expect(wrapToWidth(text, 7).join('')).toBe(text);
  });

  it('wraps at spaces when it can', () => {
    expect(wrapToWidth('the quick brown fox', 10)).toEqual(['the quick', 'brown fox']);
    expect(wrapToWidth('日本語 のテキスト です', 10)).toEqual(['日本語', 'のテキスト', 'です']);
    expect(truncateToWidth('short', 10)).toBe('short');
    expect(truncateToWidth('exactly-10', 10)).toBe('exactly-10');
    expect(truncateToWidth('more than ten', 10)).toBe('more than…');
  });
});
