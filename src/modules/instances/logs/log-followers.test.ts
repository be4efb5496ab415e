import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalLogFollower } from './log-followers.js';

describe('LocalLogFollower.settle', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves only once everything written before it has been read, without waiting for the watch or the poll', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbfleet-follow-'));
    dirs.push(dir);
    const log = join(dir, 'run.log');
    writeFileSync(log, 'first\n');
    let text = '';
    let end = 0;
    const follower = new LocalLogFollower({ data: (_id, chunk, offset) => ((text += chunk.toString('utf8')), (end = offset)), reset: () => undefined }, 60_000);
    try {
      follower.follow('job', log, 0);
      // A writer that ended with a burst, larger than one read.
      const last = `${'x'.repeat(100)}\n`.repeat(2000) + 'the verdict\n';
      appendFileSync(log, last);
      await follower.settle('job');
      expect(text).toBe(`first\n${last}`);
      expect(end).toBe(Buffer.byteLength(text));
      await follower.settle('unknown'); // nothing followed: nothing to wait for
    } finally {
      follower.close();
    }
  });
});
