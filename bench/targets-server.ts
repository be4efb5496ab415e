import { startHttpTargets } from '../test/helpers/http-targets.js';

/** Health-check targets in their own process, so they do not count against the server's CPU. */
const targets = await startHttpTargets();
process.stdout.write(`${targets.port}\n`);
process.on('SIGTERM', () => void targets.close().then(() => process.exit(0)));
