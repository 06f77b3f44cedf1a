import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config, ConfigInput } from '../../src/config/index.js';
import { inputTopics } from './services.js';
import type { TestEnv } from './services.js';

const AMOUNT_RULE = 'amount: { min: 0, max: 1000000 }';

/**
 * A private copy of schemas/transactions-contract.yaml whose amount limit a test sets: a contract that is
 * wrong for the data (a "broken upstream" as the pipeline sees it), and its fix.
 */
export class TransactionsContract {
  readonly file: string;
  readonly #good = readFileSync('schemas/transactions-contract.yaml', 'utf8');

  constructor() {
    assert.ok(
      this.#good.includes(AMOUNT_RULE),
      'the transactions contract has the amount rule the tests change',
    );
    this.file = join(mkdtempSync(join(tmpdir(), 'contract-')), 'transactions-contract.yaml');
    this.restore();
  }

  limitAmount(max: number): void {
    writeFileSync(this.file, this.#good.replace(AMOUNT_RULE, `amount: { min: 0, max: ${max} }`));
  }

  restore(): void {
    writeFileSync(this.file, this.#good);
  }

  /** The env's config with its transactions input reading this contract, plus `over`. */
  configOf(env: TestEnv, over: ConfigInput = {}): Readonly<Config> {
    const [, txTopic] = inputTopics(env.config);
    return env.configWith({
      ...over,
      inputs: { events: [{ ...env.config.inputs.events[0], topic: txTopic, contractFile: this.file }] },
    });
  }
}
