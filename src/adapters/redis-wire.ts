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
 * copy of the bytes, a memcpy; redis.ts sends a pipeline of one call as that command alone instead).
 * Measured: in an allocation profile of a 100k drain the command's string (7.5 %) and its flattening for
 * the socket (4.7 %) were 12 % of everything allocated (all allocations -9.5 % with this); on generated
 * script calls of a window's shape, the Buffer path including the join costs half the CPU of the string
 * path; in CPU profiles of 300k drains the script calls' share of the process went from 11.8 % to 9.6 %.
 * The bytes are the same: a unit test compares them with the installed ioredis's own, so an ioredis that
 * writes differently fails it.
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
 * Bulk strings (`$<n>\r\n<bytes>\r\n` each) written after `head` (ASCII or UTF-8) into one Buffer of exactly
 * their size, the arguments of each list in turn, after `room` bytes left unwritten (see packScriptArgs).
 */
function bulkStrings(head: string, lists: ReadonlyArray<readonly string[]>, room = 0): Buffer {
  let total = room + Buffer.byteLength(head);
  const sizes: number[] = [];
  for (const list of lists)
    for (let i = 0; i < list.length; i++) {
      const b = Buffer.byteLength(list[i] as string);
      sizes.push(b);
      total += digits(b) + 5 + b; // '$', the length, CRLF, the bytes, CRLF
    }
  const buf = Buffer.allocUnsafe(total);
  let at = room + buf.write(head, room, 'utf8');
  let s = 0;
  for (const list of lists)
    for (let i = 0; i < list.length; i++) {
      const b = sizes[s++] as number;
      at = writeLength(buf, at, b, digits(b));
      at += buf.write(list[i] as string, at, b, 'utf8');
      buf[at++] = CR;
      buf[at++] = LF;
    }
  // the buffer is not zero-filled: a size computed wrong must never reach Redis
  if (at !== total) throw new Error(`RESP writer: wrote ${at} of ${total} bytes`);
  return buf;
}

/** One bulk string as text (`$<bytes>\r\n<s>\r\n`), for the few strings of a command's head. */
function bulkText(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

/**
 * The command as RESP bytes: an array of bulk strings, the name first (what ioredis's string holds,
 * encoded as UTF-8).
 */
export function respCommand(name: string, args: readonly string[]): Buffer {
  return bulkStrings(`*${args.length + 1}\r\n${bulkText(name)}`, [args]);
}

/**
 * Room left before a packed call's bytes for the head EVALSHA gives it: `*<count>\r\n$7\r\nevalsha\r\n` and
 * the sha1 as `$40\r\n<40 hex digits>\r\n`, 63 bytes and the digits of the count (the arguments + 2): it
 * fits while that count is below 10^9; a longer head is copied.
 */
const HEAD_ROOM = 72;

/**
 * A packed call: its bulk strings after HEAD_ROOM free bytes of the same Buffer, how many they are, and
 * the head written into that room so far (null: none yet).
 */
interface PackedTail {
  readonly whole: Buffer;
  readonly count: number;
  head: string | null;
}

/** Script arguments written ahead (packScriptArgs), by the view of them handed out. */
const packedTails = new WeakMap<Buffer, PackedTail>();

/**
 * A script call's arguments after the script (the key count, the keys, the other arguments) written as
 * RESP now, when the caller has just built them, not when ioredis sends the command. The strings they
 * were built from then die young: held by the command until Redis answered, a window's prediction texts
 * outlived the young generation and were copied and promoted by the scavenger, then collected in the old
 * generation. The Buffer's bytes live outside the V8 heap. Sent as a script command with this one Buffer
 * argument (ioredis puts the script's sha1, or its Lua, before it), the encoder writes the command's head and
 * then these bytes: the same bytes as the strings would have given. The bytes are written after HEAD_ROOM
 * free bytes, where the encoder writes an EVALSHA head, so the command goes out without a copy.
 */
export function packScriptArgs(keys: readonly string[], args: readonly string[]): Buffer {
  const whole = bulkStrings('', [[String(keys.length)], keys, args], HEAD_ROOM);
  const tail = whole.subarray(HEAD_ROOM);
  packedTails.set(tail, { whole, count: 1 + keys.length + args.length, head: null });
  return tail;
}

/**
 * The command (name, first argument, then a packed tail) as RESP bytes. An EVALSHA head fits in the room
 * before the tail's bytes: it is written there and the command is a view of that Buffer, with no copy of
 * the (often hundreds of kilobytes of) arguments. Once written, the room holds that head for good: a
 * command handed out earlier may still be waiting in the socket's queue. Any other head (EVAL with the
 * script's Lua, after Redis lost its script cache or on a new connection) is joined with a copy.
 */
function withPackedTail(name: string, first: string, tail: Buffer, packed: PackedTail): Buffer {
  const head = `*${packed.count + 2}\r\n${bulkText(name)}${bulkText(first)}`;
  const size = Buffer.byteLength(head);
  if (size <= HEAD_ROOM && (packed.head === null || packed.head === head)) {
    if (packed.head === null) {
      packed.whole.write(head, HEAD_ROOM - size, 'utf8');
      packed.head = head;
    }
    return packed.whole.subarray(HEAD_ROOM - size);
  }
  const buf = Buffer.allocUnsafe(size + tail.length);
  buf.write(head, 0, 'utf8');
  tail.copy(buf, size);
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
 * characters of arguments is written as one Buffer (respCommand), a script command whose arguments were
 * packed ahead (packScriptArgs) as its head and those bytes; anything else (small commands, other commands
 * with Buffer arguments) by ioredis's own. Subclasses (a script's command switches between EVAL and EVALSHA,
 * then calls this) keep working: the name and arguments are read when it runs.
 */
export function installCommandEncoder(proto: { toWritable: ToWritable }): void {
  const original = proto.toWritable;
  if ((original as { streamscore?: boolean }).streamscore === true) return;
  const fast: ToWritable = function (this: CommandLike, socket) {
    const args = this.args;
    if (this.bufferMode === true) {
      const tail = args.length === 2 && typeof args[0] === 'string' ? args[1] : undefined;
      const packed = tail instanceof Buffer ? packedTails.get(tail) : undefined;
      if (packed !== undefined) return withPackedTail(this.name, args[0] as string, tail as Buffer, packed);
    } else {
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
