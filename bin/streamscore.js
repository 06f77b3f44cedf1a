#!/usr/bin/env node
// The CLI is written in TypeScript and compiled to dist/ by `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('streamscore: dist/ is missing. Run `npm run build` in the project folder first.');
  process.exit(2);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
process.exitCode = code;
// The command is done and has said how it ended. A handle left open (a client's reconnect timer, a retry
// loop) must not keep the process alive after that: a `run` that stopped would otherwise linger outside
// its consumer group. Unref'd, so a process that drains on its own exits at once.
setTimeout(() => {
  console.error(`streamscore: open handles kept the process alive after it ended; exiting with ${code}`);
  process.exit(code);
}, 5000).unref();
