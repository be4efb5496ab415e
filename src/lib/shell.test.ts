import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellJoin, shellQuote } from './shell.js';

const HOSTILE = [
  '',
  ' ',
  "it's",
  "'; rm -rf / #",
  '$(touch /tmp/pwned)',
  '`id`',
  '${HOME}',
  'a && b || c; d | e & f',
  '> /etc/passwd',
  'line1\nline2',
  '\t\r',
  '"double" \\back\\slash',
  '*?[a-z]{1,2}~',
  '-n',
  '--help',
  'héllo wörld 🚀',
  "''''",
  '!!',
];

describe('shellQuote', () => {
  it.each(HOSTILE)('round-trips %j through a real sh unchanged', (arg) => {
    const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(arg)}`]).toString();
    expect(out).toBe(arg);
  });

  it('keeps a whole argument array intact, each argument separate', () => {
    const out = execFileSync('sh', ['-c', `${shellJoin(['printf', '%s\\0', ...HOSTILE])}`]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('leaves plain words readable', () => {
    expect(shellJoin(['python3', '-u', '/opt/pb/src/main.py', 'configs/bot_1.json'])).toBe('python3 -u /opt/pb/src/main.py configs/bot_1.json');
  });

  it('refuses NUL bytes and empty commands', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
    expect(() => shellJoin([])).toThrow(/empty/);
  });
});
