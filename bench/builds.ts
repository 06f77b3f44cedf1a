/**
 * The streamscore builds a bench run drains: this checkout's, and optionally an older one to compare with,
 * either a git ref built into a temporary worktree (same node_modules, `npm run build`) or a prebuilt
 * `bin/streamscore.js` of another checkout. Every build runs from its own folder, so it reads its own
 * models, schemas and dist/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, realpathSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface Build {
  /** 'current', or how the compared build was named (`ref@sha`, a bin path). */
  readonly name: string;
  /** The checkout it runs from (its cwd; dist/ under it). */
  readonly root: string;
  /** Absolute path of its bin/streamscore.js. */
  readonly bin: string;
  /** Removes what preparing the build created (a temporary worktree); idempotent. */
  cleanup(): void;
}

const git = (cwd: string, args: readonly string[]) =>
  execFileSync('git', [...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export function currentBuild(projectDir: string, bin: string): Build {
  return { name: 'current', root: projectDir, bin: resolve(projectDir, bin), cleanup: () => undefined };
}

/** A prebuilt entry: its checkout is the folder above its bin/. */
export function prebuiltBuild(bin: string): Build {
  const abs = resolve(bin);
  if (!existsSync(abs)) throw new Error(`--compare-bin: ${abs} does not exist`);
  const root = resolve(dirname(abs), '..');
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js')))
    throw new Error(`--compare-bin: ${root} has no dist/src/cli/main.js (run npm run build there)`);
  let at = '';
  try {
    at = ` (its checkout at ${git(root, ['rev-parse', '--short=12', 'HEAD'])}; dist/ as built there)`;
  } catch {
    at = '';
  }
  return { name: `${abs}${at}`, root, bin: abs, cleanup: () => undefined };
}

/**
 * Builds `ref` of the repository at `projectDir` into a temporary worktree, reusing one already built for
 * the same commit. The worktree shares this checkout's node_modules (a symlink), so a ref whose dependencies
 * differ is built and run against today's.
 */
export function refBuild(
  projectDir: string,
  ref: string,
  log: (s: string) => void,
  opts: { readonly keep: boolean },
): Build {
  let sha: string;
  try {
    sha = git(projectDir, ['rev-parse', '--verify', `${ref}^{commit}`]);
  } catch {
    throw new Error(`--compare-ref: ${ref} is not a commit of this repository`);
  }
  const dir = join(tmpdir(), `streamscore-bench-${sha.slice(0, 12)}`);
  const created = !existsSync(dir);
  if (created) {
    log(`compared build: git worktree add ${dir} ${ref} (${sha.slice(0, 12)})`);
    git(projectDir, ['worktree', 'add', '--detach', dir, sha]);
  } else if (git(dir, ['rev-parse', 'HEAD']) !== sha) {
    throw new Error(`${dir} exists but is not at ${sha}; remove it (git worktree remove --force ${dir})`);
  }
  const modules = join(dir, 'node_modules');
  if (!existsSync(modules)) symlinkSync(realpathSync(join(projectDir, 'node_modules')), modules, 'dir');
  if (!existsSync(join(dir, 'dist', 'src', 'cli', 'main.js'))) {
    log(`compared build: npm run build in ${dir}`);
    try {
      execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
      throw new Error(`npm run build of ${ref} (${sha.slice(0, 12)}) failed:\n${out.slice(-2000)}`);
    }
  }
  let cleaned = false;
  return {
    name: `${ref}@${sha.slice(0, 12)}`,
    root: dir,
    bin: join(dir, 'bin', 'streamscore.js'),
    cleanup() {
      if (cleaned || opts.keep || !created) return;
      cleaned = true;
      try {
        // the shared node_modules is a symlink: take it out first so nothing can reach through it
        if (lstatSync(modules, { throwIfNoEntry: false })?.isSymbolicLink() === true) unlinkSync(modules);
        git(projectDir, ['worktree', 'remove', '--force', dir]);
      } catch (err) {
        log(`could not remove the worktree ${dir}: ${(err as Error).message}`);
      }
    },
  };
}
