#!/usr/bin/env -S node --max-semi-space-size=32
// The CLI is written in TypeScript and compiled to dist/ by `npm run build`.
// The node flags on the line above are streamscore's default runtime settings (docs/memory.md): a 32 MB
// young-generation semi-space lets a window's short-lived objects die young instead of being promoted.
// Run the file itself (`bin/streamscore.js`, `npx streamscore`, the container's entry point) to get them;
// `node bin/streamscore.js` does not read this line. The tests and the bench read it (src/cli/node-flags.ts).
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
