import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateApiSchema, SCHEMA_FILE } from '../scripts/gen-api.js';

describe('web API types', () => {
  it('web/src/lib/api/schema.d.ts matches the routes (run `npm run gen:api` after changing them)', async () => {
    const fresh = await generateApiSchema();
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    // A plain equality would print two 10,000-line files; the first differing line says enough.
    if (committed !== fresh) {
      const a = committed.split('\n');
      const b = fresh.split('\n');
      const line = a.findIndex((text, i) => text !== b[i]);
      const at = line === -1 ? Math.min(a.length, b.length) : line;
      expect.fail(`schema.d.ts is stale: run \`npm run gen:api\`. First difference at line ${at + 1}:\n  committed: ${a[at] ?? '<end of file>'}\n  generated: ${b[at] ?? '<end of file>'}`);
    }
  });
});
