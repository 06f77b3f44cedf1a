import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { Command } from 'ioredis';
import {
  MIN_BUFFER_CHARS,
  installCommandEncoder,
  packScriptArgs,
  respCommand,
} from '../../../src/adapters/redis-wire.js';
import { Random } from '../../../src/sample/index.js';

// ioredis's own encoder is the oracle: this test does not load src/adapters/redis.ts, which replaces it
type Writable = (this: unknown, socket: object) => string | Buffer;
const ioredisToWritable = Command.prototype.toWritable as Writable;
assert.equal((ioredisToWritable as { streamscore?: boolean }).streamscore, undefined);

function ioredisBytes(name: string, args: string[]): Buffer {
  const out = ioredisToWritable.call(new Command(name, args), {});
  return typeof out === 'string' ? Buffer.from(out, 'utf8') : out;
}

const PIECES = [
  'a',
  'Z',
  '9',
  '{',
  '"',
  '\r\n',
  'é',
  'ß',
  '€',
  '中',
  '😀',
  '\ud800',
  '\udfff',
  '\u0000',
  ' ',
];

function randomArg(rnd: () => number): string {
  const shape = rnd();
  // lengths around the digit boundaries of the bulk-string header, and long JSON-like text
  const n =
    shape < 0.1
      ? 0
      : shape < 0.5
        ? Math.floor(rnd() * 12)
        : shape < 0.8
          ? 95 + Math.floor(rnd() * 10)
          : Math.floor(rnd() * 12000);
  let s = '';
  for (let i = 0; i < n; i++) s += rnd() < 0.9 ? 'x' : (PIECES[Math.floor(rnd() * PIECES.length)] as string);
  return s;
}

test('respCommand writes the bytes ioredis writes, on 2,000 random commands', () => {
  const rng = new Random(7);
  const rnd = () => rng.next();
  for (let c = 0; c < 2000; c++) {
    const args = Array.from({ length: Math.floor(rnd() * 40) }, () => randomArg(rnd));
    const name = rnd() < 0.5 ? 'evalsha' : 'eval';
    assert.deepEqual(respCommand(name, args), ioredisBytes(name, args), `command ${c}`);
  }
});

test('respCommand: hand-written edge cases (no arguments, empty ones, lengths 9/10/99/100/999/1000)', () => {
  const cases: string[][] = [
    [],
    [''],
    ['', '', ''],
    ...[9, 10, 99, 100, 999, 1000, 9999, 10000].map((n) => ['k', 'x'.repeat(n)]),
    ['😀'.repeat(3000), '\ud83d', 'tail'],
  ];
  for (const args of cases) assert.deepEqual(respCommand('hset', args), ioredisBytes('hset', args));
});

test("installCommandEncoder: large string commands become one Buffer with the same bytes, the rest stays ioredis's", () => {
  class Probe extends Command {}
  installCommandEncoder(Probe.prototype as unknown as Parameters<typeof installCommandEncoder>[0]);
  const installed = Probe.prototype.toWritable;
  installCommandEncoder(Probe.prototype as unknown as Parameters<typeof installCommandEncoder>[0]);
  assert.equal(Probe.prototype.toWritable, installed, 'a second install keeps the first');
  assert.equal(Command.prototype.toWritable, ioredisToWritable, 'only the given prototype changes');

  const small = ['key', 'value'];
  assert.equal(typeof new Probe('set', small).toWritable({}), 'string');
  assert.equal(new Probe('set', small).toWritable({}), ioredisToWritable.call(new Command('set', small), {}));

  const large = ['k', 'é'.repeat(MIN_BUFFER_CHARS), '7'];
  const out = new Probe('evalsha', large).toWritable({});
  assert.ok(Buffer.isBuffer(out));
  assert.deepEqual(out, ioredisBytes('evalsha', large));

  // numbers become strings in ioredis's constructor; the result is the same command
  const numbers = new Probe('evalsha', ['sha', 2, 'x'.repeat(MIN_BUFFER_CHARS), 'k2', 42]);
  assert.deepEqual(
    numbers.toWritable({}),
    ioredisBytes('evalsha', ['sha', '2', 'x'.repeat(MIN_BUFFER_CHARS), 'k2', '42']),
  );

  // a Buffer argument: ioredis's own buffer mode
  const withBuffer = ['k', Buffer.from('y'.repeat(MIN_BUFFER_CHARS))];
  const viaProbe = new Probe('set', withBuffer).toWritable({});
  const viaIoredis = ioredisToWritable.call(new Command('set', withBuffer), {});
  assert.deepEqual(viaProbe, viaIoredis);
});

test('a packed script call (head, then its tail written ahead) has the bytes ioredis writes for its strings, on 500 random calls', () => {
  class Probe extends Command {}
  installCommandEncoder(Probe.prototype as unknown as Parameters<typeof installCommandEncoder>[0]);
  const rng = new Random(11);
  const rnd = () => rng.next();
  for (let c = 0; c < 500; c++) {
    const keys = Array.from({ length: Math.floor(rnd() * 6) }, () => randomArg(rnd));
    const args = Array.from({ length: Math.floor(rnd() * 30) }, () => randomArg(rnd));
    const name = rnd() < 0.5 ? 'evalsha' : 'eval';
    const first = rnd() < 0.5 ? 'a'.repeat(40) : 'return redis.call("GET", KEYS[1]) -- é';
    const packed = new Probe(name, [first, packScriptArgs(keys, args)]).toWritable({});
    assert.deepEqual(packed, ioredisBytes(name, [first, String(keys.length), ...keys, ...args]), `call ${c}`);
  }
  // a Buffer that was not packed here is one bulk string, as ioredis sends it
  const plain = Buffer.from('not packed');
  assert.deepEqual(
    new Probe('evalsha', ['sha', plain]).toWritable({}),
    ioredisToWritable.call(new Command('evalsha', ['sha', plain]), {}),
  );
});

test('a packed EVALSHA call goes out without a copy of its arguments; other heads are copied and leave earlier commands intact', () => {
  class Probe extends Command {}
  installCommandEncoder(Probe.prototype as unknown as Parameters<typeof installCommandEncoder>[0]);
  const sha = 'f'.repeat(40);
  const keys = ['k1', 'k2'];
  const args = ['é'.repeat(MIN_BUFFER_CHARS), 'x'];
  const tail = packScriptArgs(keys, args);
  const strings = [String(keys.length), ...keys, ...args];
  const first = new Probe('evalsha', [sha, tail]).toWritable({}) as Buffer;
  assert.deepEqual(first, ioredisBytes('evalsha', [sha, ...strings]));
  assert.equal(first.buffer, tail.buffer, 'the command is a view of the packed bytes');
  assert.equal(first.byteOffset + first.length, tail.byteOffset + tail.length);
  const kept = Buffer.from(first);
  // the Lua instead of the sha1 (a flushed script cache), after the EVALSHA head: a different head, so a copy
  // (the Buffers here are larger than Node's pool slices: a copy has an ArrayBuffer of its own)
  const lua = 'return redis.call("GET", KEYS[1])';
  const evalCommand = new Probe('eval', [lua, tail]).toWritable({}) as Buffer;
  assert.deepEqual(evalCommand, ioredisBytes('eval', [lua, ...strings]));
  assert.notEqual(evalCommand.buffer, tail.buffer);
  // another head that would fit (a different sha1): copied, since a command with the first head may still wait
  const other = 'e'.repeat(40);
  const otherCommand = new Probe('evalsha', [other, tail]).toWritable({}) as Buffer;
  assert.deepEqual(otherCommand, ioredisBytes('evalsha', [other, ...strings]));
  assert.notEqual(otherCommand.buffer, tail.buffer);
  // the same head again: the same view
  const again = new Probe('evalsha', [sha, tail]).toWritable({}) as Buffer;
  assert.equal(again.buffer, tail.buffer);
  assert.deepEqual(first, kept, 'the first command is unchanged');
  assert.deepEqual(again, kept);

  // a fresh call's first head longer than the room (EVAL with a real script's Lua, on a new connection):
  // copied, the room left as it is, and the EVALSHA head after it still goes without a copy
  const fresh = packScriptArgs(keys, args);
  const longLua = `-- ${'a script longer than the room before the packed arguments '.repeat(3)}\nreturn 1`;
  const longEval = new Probe('eval', [longLua, fresh]).toWritable({}) as Buffer;
  assert.deepEqual(longEval, ioredisBytes('eval', [longLua, ...strings]));
  assert.notEqual(longEval.buffer, fresh.buffer);
  const shaAfter = new Probe('evalsha', [sha, fresh]).toWritable({}) as Buffer;
  assert.deepEqual(shaAfter, ioredisBytes('evalsha', [sha, ...strings]));
  assert.equal(shaAfter.buffer, fresh.buffer);
});

// last: installs the encoder on ioredis's own Command, as redis.ts does
test("a script's command (EVAL on a new socket, then EVALSHA) goes through the installed encoder with ioredis's bytes", () => {
  const require = createRequire(import.meta.url);
  const { default: Script } = require('ioredis/built/Script.js') as {
    default: new (
      lua: string,
      keys: number,
    ) => {
      sha: string;
      Command: new (name: string, args: string[]) => { toWritable(s: object): string | Buffer };
    };
  };
  installCommandEncoder(Command.prototype as unknown as Parameters<typeof installCommandEncoder>[0]);
  const lua = 'return ARGV[1]';
  const script = new Script(lua, 1);
  const big = 'é'.repeat(MIN_BUFFER_CHARS);
  const command = new script.Command('evalsha', [script.sha, '1', 'k', big]);
  const socket = {};
  const first = command.toWritable(socket);
  assert.ok(Buffer.isBuffer(first), 'the installed encoder wrote it');
  assert.deepEqual(first, ioredisBytes('eval', [lua, '1', 'k', big]));
  assert.deepEqual(command.toWritable(socket), ioredisBytes('evalsha', [script.sha, '1', 'k', big]));

  // packed ahead (RedisStore.pack): the script's command puts EVAL and the Lua, then EVALSHA and the sha1, first
  const loose = new Script(lua, null as unknown as number);
  const packed = new loose.Command('evalsha', [loose.sha, packScriptArgs(['k'], [big]) as unknown as string]);
  const other = {};
  assert.deepEqual(packed.toWritable(other), ioredisBytes('eval', [lua, '1', 'k', big]));
  assert.deepEqual(packed.toWritable(other), ioredisBytes('evalsha', [loose.sha, '1', 'k', big]));
});
