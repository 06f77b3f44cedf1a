/**
 * The Redis wire form (RESP) of a large command, written into one Buffer (installed on ioredis 5's
 * Command by redis.ts).
 *
 * ioredis builds a command as one string, argument by argument (`'$' + Buffer.byteLength(arg) + '\r\n' +
 * arg + '\r\n'`), joins a pipeline's commands into one string and hands that to the socket, which flattens
 * it and copies it to UTF-8. For a window's script calls (about 150 KB of arguments per call) that is a
 * rope of thousands of pieces, flattened into a string of the pipeline's size in the V8 heap (a large
 * object: old generation) and then encoded. Here each large command is one Buffer (lengths first, then one
 * UTF-8 write per argument); a pipeline holding Buffers is joined by ioredis with Buffer.concat (one more
 * copy of the bytes, a memcpy). Measured: in an allocation profile of a 100k drain the command's string
 * (7.5 %) and its flattening for the socket (4.7 %) were 12 % of everything allocated (all allocations
 * -9.5 % with this); on generated script calls of a window's shape, the Buffer path including the join
 * costs half the CPU of the string path; in CPU profiles of 300k drains the script calls' share of the
 * process went from 11.8 % to 9.6 %. The bytes are the same: a unit test compares them with the installed
 * ioredis's own, so an ioredis that writes differently fails it.
 */

/** Commands with fewer characters of arguments than this keep ioredis's string (cheaper when small). */
export const MIN_BUFFER_CHARS = 4096;

const DOLLAR = 0x24;
const CR = 0x0d;
const LF = 0x0a;

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d += 1;
  }
  return d;
}

/** Writes `$<n>\r\n` at `at`; returns the position after it. */
function writeLength(buf: Buffer, at: number, n: number, size: number): number {
  buf[at] = DOLLAR;
  let end = at + size;
  let v = n;
  do {
    buf[end--] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  at += size + 1;
  buf[at++] = CR;
  buf[at++] = LF;
  return at;
}

/**
 * The command as RESP bytes: an array of bulk strings, the name first (what ioredis's string holds,
 * encoded as UTF-8).
 */
export function respCommand(name: string, args: readonly string[]): Buffer {
  const n = args.length;
  const sizes = new Array<number>(n);
  const head = `*${n + 1}\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n`;
  let total = Buffer.byteLength(head);
  for (let i = 0; i < n; i++) {
    const b = Buffer.byteLength(args[i] as string);
    sizes[i] = b;
    total += digits(b) + 5 + b; // '$', the length, CRLF, the bytes, CRLF
  }
  const buf = Buffer.allocUnsafe(total);
  let at = buf.write(head, 0, 'utf8');
  for (let i = 0; i < n; i++) {
    const b = sizes[i] as number;
    at = writeLength(buf, at, b, digits(b));
    at += buf.write(args[i] as string, at, b, 'utf8');
    buf[at++] = CR;
    buf[at++] = LF;
  }
  // the buffer is not zero-filled: a size computed wrong must never reach Redis
  if (at !== total) throw new Error(`respCommand: wrote ${at} of ${total} bytes`);
  return buf;
}

/** What the encoder reads of an ioredis Command (args are strings unless bufferMode is set). */
interface CommandLike {
  name: string;
  args: unknown[];
  bufferMode?: boolean;
}

type ToWritable = (this: CommandLike, socket: object) => string | Buffer;

/**
 * Replaces ioredis's Command.prototype.toWritable: a command of strings with at least MIN_BUFFER_CHARS
 * characters of arguments is written as one Buffer (respCommand); anything else (small commands, commands
 * with Buffer arguments) by ioredis's own. Subclasses (a script's command switches between EVAL and EVALSHA,
 * then calls this) keep working: the name and arguments are read when it runs.
 */
export function installCommandEncoder(proto: { toWritable: ToWritable }): void {
  const original = proto.toWritable;
  if ((original as { streamscore?: boolean }).streamscore === true) return;
  const fast: ToWritable = function (this: CommandLike, socket) {
    if (this.bufferMode !== true) {
      const args = this.args;
      let chars = 0;
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (typeof a !== 'string') return original.call(this, socket);
        chars += a.length;
      }
      if (chars >= MIN_BUFFER_CHARS) return respCommand(this.name, args as string[]);
    }
    return original.call(this, socket);
  };
  (fast as { streamscore?: boolean }).streamscore = true;
  proto.toWritable = fast;
}
