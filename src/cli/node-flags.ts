import { readFileSync } from 'node:fs';

/**
 * The node flags a script declares on its `#!/usr/bin/env -S node <flags>` line: what the process gets when
 * the script is run as an executable. Tests and the benchmark start `bin/streamscore.js` through
 * process.execPath, which skips that line, so they pass these flags themselves and run what users run.
 */
export function shebangNodeFlags(firstLine: string): string[] {
  const m = /^#!\s*\S*\benv\s+-S\s+node\s+(.*)$/.exec(firstLine.trim());
  if (m === null) return [];
  return (m[1] as string).split(/\s+/).filter((a) => a !== '');
}

/** The node flags declared by the script at `file` (none when its first line names no flags). */
export function nodeFlagsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const nl = text.indexOf('\n');
  return shebangNodeFlags(nl < 0 ? text : text.slice(0, nl));
}
