import { describe, expect, it } from 'vitest';
import { returnPath } from '../web/src/app/return-path.js';

describe('sign-in return path: only ever a page of this app', () => {
  it('keeps an app path with its search and hash', () => {
    expect(returnPath('/bots/0190a1b2-0000-7000-8000-000000000000')).toBe('/bots/0190a1b2-0000-7000-8000-000000000000');
    expect(returnPath('/bots?sort=balance&dir=desc')).toBe('/bots?sort=balance&dir=desc');
    expect(returnPath('/fleet/local#health')).toBe('/fleet/local#health');
    expect(returnPath('/')).toBe('/');
  });

  it('normalises dot segments without leaving the origin', () => {
    expect(returnPath('/bots/../fleet')).toBe('/fleet');
    expect(returnPath('/../../etc')).toBe('/etc');
  });

  it.each([
    ['another origin', 'https://evil.example/bots'],
    ['a protocol-relative URL', '//evil.example/bots'],
    ['a backslash host (read as // by browsers)', '/\\evil.example'],
    ['a backslash later on', '/bots\\..\\\\evil.example'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['a relative path', 'bots'],
    ['a tab that browsers drop (/\\t/evil.example)', '/\t/evil.example'],
    ['a newline', '/bots\n/x'],
    ['the sign-in page (a loop)', '/sign-in?redirect=%2Fbots'],
    ['the API', '/api/v1/auth/logout'],
    ['the API docs', '/docs'],
    ['the hub', '/ws'],
    ['an empty string', ''],
    ['a huge path', `/${'a'.repeat(2001)}`],
  ])('refuses %s', (_what, value) => {
    expect(returnPath(value)).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 42, ['/bots'], { href: '/bots' }]) expect(returnPath(value)).toBeUndefined();
  });

  it('keeps pages whose names only start like a server path', () => {
    expect(returnPath('/apiary')).toBe('/apiary');
    expect(returnPath('/docsets/1')).toBe('/docsets/1');
  });
});
