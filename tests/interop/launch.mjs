// launch starts Debian's Chromium headless for the interop tests. The
// flags keep it off this machine's closed network (background networking,
// component updates and sync would try outside hosts) and let it run as
// root; playwright-core drives it, no browser download.
import { chromium } from 'playwright-core';

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
