// Headless Chromium (Debian's, driven by playwright-core) loads the page
// the server serves, which opens a WebSocket, echoes messages (Chromium
// offers permessage-deflate) and reports what happened. Prints one JSON
// line; exits non-zero on failure.
import { launch } from './launch.mjs';

const url = process.argv[2];
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(url);
  const result = await page.waitForFunction(() => window.result, null, { timeout: 15000 });
  const value = await result.jsonValue();
  console.log(JSON.stringify(value));
  process.exit(value.ok ? 0 : 1);
} finally {
  await browser.close();
}
