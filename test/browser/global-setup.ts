/** Browser tests load the built UI: build it once, before any test file, when dist/web is missing or older than web/. */
import { buildWeb, webBuildStale } from '../../scripts/build-web.js';

export default async function setup(): Promise<void> {
  if (webBuildStale()) await buildWeb({ quiet: true });
}
