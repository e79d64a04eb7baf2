import { describe, expect, it } from 'vitest';
import { formatBytes } from './format.js';

describe('formatBytes', () => {
  it('uses binary units with three significant digits', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(4096)).toBe('4.00 KiB');
    expect(formatBytes(1.25 * 2 ** 20)).toBe('1.25 MiB');
    expect(formatBytes(3 * 2 ** 30 + 2 ** 29)).toBe('3.50 GiB');
  });
});
