/**
 * A realistic SQL workload on the sample bank schema (cdc/schema.sql), for the CDC demo and tests: rows
 * drawn by the sample domain's own generator (src/sample/customers.ts), written with plain SQL through
 * node-postgres, so that Debezium captures what an application would do:
 *  - `seed`: rows that exist before the connector starts (its snapshot reads them, op=r);
 *  - `live`: single-row inserts, updates of a few columns, deletes, bursts of small transactions, a long
 *    transaction touching many rows (the nightly interest run), a row updated many times inside one
 *    transaction, and an update of a primary key (Debezium: a delete of the old key, a create of the new).
 * Every statement is counted; the oracle reads the final table, not this driver's bookkeeping.
 */
import pg from 'pg';
import { accrueInterest, drawLatent, newCustomer, updateCustomer } from '../../src/sample/customers.js';
import type { Latent } from '../../src/sample/customers.js';
import { kafkaPartition, Random } from '../../src/sample/index.js';
import type { CustomerRow, TransactionRecord } from '../../src/sample/index.js';
import { drawTransaction } from '../../src/sample/transactions.js';
import type { CdcEndpoints } from './connect.js';

export const CUSTOMER_COLUMNS = [
  'id',
  'tenure_months',
  'age',
  'products_held',
  'balance',
  'credit_limit',
  'utilisation',
  'region',
  'segment',
  'created_at',
  'updated_at',
  'birth_date',
] as const;

/** SQL for one value of a row, as a parameter: timestamps from epoch millis in UTC, money with 2 decimals. */
const PARAM_SQL: Readonly<Record<(typeof CUSTOMER_COLUMNS)[number], (p: string) => string>> = {
  id: (p) => p,
  tenure_months: (p) => p,
  age: (p) => p,
  products_held: (p) => p,
  balance: (p) => `${p}::numeric(12,2)`,
  credit_limit: (p) => `${p}::numeric(12,2)`,
  utilisation: (p) => p,
  region: (p) => p,
  segment: (p) => p,
  created_at: (p) => `(to_timestamp(${p}::double precision / 1000) AT TIME ZONE 'UTC')`,
  updated_at: (p) => `to_timestamp(${p}::double precision / 1000)`,
  birth_date: (p) => `(to_timestamp(${p}::double precision / 1000) AT TIME ZONE 'UTC')::date`,
};

const paramValue = (row: CustomerRow, c: (typeof CUSTOMER_COLUMNS)[number]): unknown => {
  const v = row[c];
  if (v === null) return null;
  if (c === 'balance' || c === 'credit_limit') return (v as number).toFixed(2);
  return v;
};

export interface WorkloadCounts {
  inserts: number;
  updates: number;
  deletes: number;
  keyChanges: number;
  transactions: number;
  /** Updates of one row inside one transaction (the many-updates case). */
  repeatedUpdates: number;
  /** Rows of the long multi-row transaction. */
  bulkRows: number;
}

export interface LiveOptions {
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
  /** Rows touched by one long transaction (0: none). */
  readonly bulkRows: number;
  /** Updates of one row inside one transaction (0: none). */
  readonly repeatedUpdates: number;
  /** Primary-key updates. */
  readonly keyChanges: number;
}

export class BankWorkload {
  readonly #rng: Random;
  readonly #latent = new Map<number, Latent>();
  readonly #rows = new Map<number, CustomerRow>();
  #nextId: number;
  readonly counts: WorkloadCounts = {
    inserts: 0,
    updates: 0,
    deletes: 0,
    keyChanges: 0,
    transactions: 0,
    repeatedUpdates: 0,
    bulkRows: 0,
  };

  private constructor(
    private readonly client: pg.Client,
    seed: number,
    firstId: number,
  ) {
    this.#rng = new Random(seed);
    this.#nextId = firstId;
  }

  static async connect(e: CdcEndpoints, seed: number, firstId = 100_001): Promise<BankWorkload> {
    const client = new pg.Client({ host: e.pgHost, port: e.pgPort, database: e.pgDatabase, user: e.pgUser });
    await client.connect();
    return new BankWorkload(client, seed, firstId);
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  /** Ids of the rows this driver believes alive (for picking rows to change). */
  get liveIds(): number[] {
    return [...this.#rows.keys()];
  }

  async query(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.client.query(text, params);
  }

  /**
   * Drops a connector's replication slot and publication once the connector is gone (the slot stays active
   * for a moment after the connector is deleted; a slot left behind makes PostgreSQL keep its WAL).
   */
  async dropCapture(slot: string): Promise<void> {
    for (let i = 0; i < 40; i++) {
      const dropped = await this.client.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
        [slot],
      );
      if (dropped.rowCount === 1) break;
      const left = await this.client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (left.rowCount === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.client.query(`DROP PUBLICATION IF EXISTS ${slot}`);
  }

  /**
   * Adds two columns mid-stream: `notes` text kept out of line (TOAST), filled for `ids` with ~12 KB each
   * (an UPDATE that leaves it unchanged then reaches Debezium without it: `__debezium_unavailable_value`),
   * and `vip` boolean.
   */
  async addToastedNotes(ids: readonly number[]): Promise<Map<number, string>> {
    await this.client.query(
      'ALTER TABLE bank.customers ADD COLUMN IF NOT EXISTS notes text, ADD COLUMN IF NOT EXISTS vip boolean',
    );
    await this.client.query('ALTER TABLE bank.customers ALTER COLUMN notes SET STORAGE EXTERNAL');
    const notes = new Map<number, string>();
    for (const id of ids) {
      let text = '';
      while (text.length < 12_000) text += this.#rng.next().toString(36).slice(2);
      await this.client.query('UPDATE bank.customers SET notes = $2, vip = $3 WHERE id = $1', [
        id,
        text,
        this.#rng.bernoulli(0.5),
      ]);
      notes.set(id, text);
    }
    return notes;
  }

  /** Back to the table of cdc/schema.sql (a test that added columns or changed the replica identity). */
  async resetTable(): Promise<void> {
    await this.client.query(
      'ALTER TABLE bank.customers DROP COLUMN IF EXISTS notes, DROP COLUMN IF EXISTS vip',
    );
    await this.client.query('ALTER TABLE bank.customers REPLICA IDENTITY DEFAULT');
  }

  /** Empties the table (before a run; the connector of a new run starts after). */
  async truncate(): Promise<void> {
    await this.client.query('TRUNCATE bank.customers');
    this.#rows.clear();
  }

  async #insert(row: CustomerRow): Promise<void> {
    const values = CUSTOMER_COLUMNS.map((c, i) => PARAM_SQL[c](`$${i + 1}`));
    await this.client.query(
      `INSERT INTO bank.customers (${CUSTOMER_COLUMNS.join(', ')}) VALUES (${values.join(', ')})`,
      CUSTOMER_COLUMNS.map((c) => paramValue(row, c)),
    );
    this.#rows.set(row.id, row);
    this.counts.inserts++;
  }

  /** Writes the columns that differ between `before` and `after` (an application's partial UPDATE). */
  async #update(before: CustomerRow, after: CustomerRow): Promise<void> {
    const changed = CUSTOMER_COLUMNS.filter((c) => c !== 'id' && before[c] !== after[c]);
    if (changed.length === 0) return;
    const sets = changed.map((c, i) => `${c} = ${PARAM_SQL[c](`$${i + 2}`)}`);
    await this.client.query(`UPDATE bank.customers SET ${sets.join(', ')} WHERE id = $1`, [
      after.id,
      ...changed.map((c) => paramValue(after, c)),
    ]);
    this.#rows.set(after.id, after);
    this.counts.updates++;
  }

  async #delete(id: number): Promise<void> {
    await this.client.query('DELETE FROM bank.customers WHERE id = $1', [id]);
    this.#rows.delete(id);
    this.counts.deletes++;
  }

  async #tx(body: () => Promise<void>): Promise<void> {
    await this.client.query('BEGIN');
    try {
      await body();
      await this.client.query('COMMIT');
      this.counts.transactions++;
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  #newRow(existing: boolean): CustomerRow {
    const id = this.#nextId++;
    const latent = drawLatent(this.#rng);
    this.#latent.set(id, latent);
    return newCustomer(this.#rng, id, Date.now(), latent, existing);
  }

  #pick(): number | undefined {
    const ids = this.liveIds;
    return ids.length === 0 ? undefined : ids[this.#rng.int(0, ids.length - 1)];
  }

  #updated(id: number): { before: CustomerRow; after: CustomerRow } {
    const before = this.#rows.get(id) as CustomerRow;
    const latent = this.#latent.get(id) ?? drawLatent(this.#rng);
    return { before, after: updateCustomer(this.#rng, before, Date.now(), latent) };
  }

  /** Rows that exist before capture starts, inserted in transactions of up to 500 rows. */
  async seed(rows: number): Promise<void> {
    for (let done = 0; done < rows;) {
      const n = Math.min(500, rows - done);
      await this.#tx(async () => {
        for (let i = 0; i < n; i++) await this.#insert(this.#newRow(true));
      });
      done += n;
    }
  }

  /** The live mix, interleaved in a seeded order; bursts of small transactions among single statements. */
  async live(o: LiveOptions): Promise<void> {
    const ops: Array<'insert' | 'update' | 'delete' | 'key'> = [
      ...Array<'insert'>(o.inserts).fill('insert'),
      ...Array<'update'>(o.updates).fill('update'),
      ...Array<'delete'>(o.deletes).fill('delete'),
      ...Array<'key'>(o.keyChanges).fill('key'),
    ];
    for (let i = ops.length - 1; i > 0; i--) {
      const j = this.#rng.int(0, i);
      [ops[i], ops[j]] = [ops[j] as (typeof ops)[number], ops[i] as (typeof ops)[number]];
    }
    let i = 0;
    while (i < ops.length) {
      // a burst: several statements in one transaction, else one statement (autocommit)
      const burst = this.#rng.bernoulli(0.2) ? this.#rng.int(2, 8) : 1;
      const slice = ops.slice(i, i + burst);
      i += slice.length;
      const run = async () => {
        for (const op of slice) await this.#one(op);
      };
      if (slice.length > 1) await this.#tx(run);
      else await run();
    }
    if (o.repeatedUpdates > 0) {
      const id = this.#pick();
      if (id !== undefined) {
        await this.#tx(async () => {
          for (let k = 0; k < o.repeatedUpdates; k++) {
            const { before, after } = this.#updated(id);
            await this.#update(before, after);
            this.counts.repeatedUpdates++;
          }
        });
      }
    }
    if (o.bulkRows > 0) {
      // the nightly interest run: one transaction updating many balances
      const ids = this.liveIds.slice(-o.bulkRows); // the newest rows
      await this.#tx(async () => {
        for (const id of ids) {
          const before = this.#rows.get(id) as CustomerRow;
          await this.#update(before, accrueInterest(before, Date.now()));
          this.counts.bulkRows++;
        }
      });
    }
  }

  /**
   * Card transactions (the event topic) of `ids`, `perCustomer` each on average, with event times over the
   * last `spanDays` before `nowMs`; a few for ids the table never had (their events wait for a profile).
   */
  transactions(
    ids: readonly number[],
    perCustomer: number,
    nowMs: number,
    partitions: number,
    spanDays = 20,
  ): TransactionRecord[] {
    const out: TransactionRecord[] = [];
    const add = (id: number) => {
      const latent = this.#latent.get(id) ?? drawLatent(this.#rng);
      const n = this.#rng.poisson(perCustomer);
      for (let k = 0; k < n; k++) {
        const t = nowMs - 60_000 - Math.floor(this.#rng.next() * spanDays * 86_400_000);
        const key = String(id);
        out.push({
          topic: 'transactions',
          key,
          value: drawTransaction(this.#rng, id, t, latent),
          partition: kafkaPartition(key, partitions),
          atMs: nowMs,
          resend: null,
        });
      }
    };
    for (const id of ids) add(id);
    for (let k = 0; k < 3; k++) add(this.#nextId + 1000 + k);
    return out;
  }

  async #one(op: 'insert' | 'update' | 'delete' | 'key'): Promise<void> {
    if (op === 'insert') return this.#insert(this.#newRow(false));
    const id = this.#pick();
    if (id === undefined) return this.#insert(this.#newRow(false));
    if (op === 'update') {
      const { before, after } = this.#updated(id);
      return this.#update(before, after);
    }
    if (op === 'delete') return this.#delete(id);
    // a primary-key change: the application re-keys a customer
    const newId = this.#nextId++;
    await this.client.query('UPDATE bank.customers SET id = $2 WHERE id = $1', [id, newId]);
    const row = this.#rows.get(id) as CustomerRow;
    this.#rows.delete(id);
    this.#rows.set(newId, { ...row, id: newId });
    const latent = this.#latent.get(id);
    if (latent !== undefined) this.#latent.set(newId, latent);
    this.counts.keyChanges++;
  }
}
