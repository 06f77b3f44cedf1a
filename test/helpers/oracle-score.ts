/**
 * The oracle's scores, from the weights in model.onnx and the graph scripts/train/onnx.ts documents — never
 * through src/models or src/score (our loader and runner are what is under test).
 *
 * The export is Mul(x, w) → Split into columns → ((t0 + t1) + t2) + … → + bias → Sigmoid → Squeeze, each op
 * elementwise in float32. `readLogisticOnnx` checks that the file is exactly that graph, then `logit`
 * repeats its arithmetic with Math.fround after every op. That is bit-exact, not approximate: a product or
 * sum of two float32 values taken in float64 and rounded to float32 equals the float32 operation (double
 * rounding is innocuous for + and × because 53 ≥ 2·24 + 2).
 *
 * The last op is not reproduced in JavaScript on purpose. onnxruntime's float Sigmoid is MLAS's rational
 * approximation (Eigen's coefficients; SSE2, FMA3 and NEON kernels), not 1 / (1 + e^-x): it is up to ~1.8e-7
 * away from the true value and matches the float32-rounded true value for only about half of all logits,
 * so no expression in Math.exp can equal it bit for bit on every host. The oracle therefore sends its own
 * logits through the runtime's stock Sigmoid kernel — a one-node graph built here, with no model file and
 * no code of ours — and also holds every result to within SIGMOID_BOUND of the float64 sigmoid, so the
 * expected score is both exactly what the runtime must give for that logit and provably a sigmoid of it.
 */
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';

const { onnx } = onnxProto;

/** Measured worst case of the runtime's Sigmoid against float64 1 / (1 + e^-x) is 1.75e-7 over [-40, 40]. */
export const SIGMOID_BOUND = 4e-7;

export interface LogisticWeights {
  readonly weights: Float32Array;
  readonly bias: number;
}

// decode() builds these classes, whose repeated fields are always arrays (the I* interfaces allow null).
type Graph = onnxProto.onnx.GraphProto;
type Tensor = onnxProto.onnx.TensorProto;
type Node = onnxProto.onnx.NodeProto;

const int = (v: number | { toNumber(): number }): number => (typeof v === 'number' ? v : v.toNumber());

function floats(t: Tensor): Float32Array {
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`oracle: ${t.name} is not float32`);
  if (t.floatData.length > 0) return Float32Array.from(t.floatData);
  // raw_data is little-endian by the ONNX spec
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/**
 * The weight vector and bias of a model.onnx written by scripts/train/onnx.ts.
 * @throws Error when the graph is anything else: the oracle must not silently score a different model.
 */
export function readLogisticOnnx(bytes: Uint8Array, inputName: string, outputName: string): LogisticWeights {
  const graph = onnx.ModelProto.decode(bytes).graph as Graph | null | undefined;
  if (graph === null || graph === undefined) throw new Error('oracle: model.onnx has no graph');
  const init = new Map((graph.initializer as Tensor[]).map((t) => [t.name, t]));
  const nodes = [...(graph.node as Node[])];
  const fail = (why: string): never => {
    throw new Error(`oracle: model.onnx is not the documented logistic graph (${why})`);
  };
  const next = (opType: string): Node => {
    const n = nodes.shift();
    if (n?.opType !== opType) fail(`expected ${opType}, found ${n?.opType ?? 'the end'}`);
    return n as Node;
  };

  const mul = next('Mul');
  const w = init.get(mul.input[1] ?? '');
  if (mul.input[0] !== inputName || w === undefined) fail(`Mul must take ${inputName} and an initializer`);
  const weights = floats(w as Tensor);
  const dims = (w as Tensor).dims.map(int);
  if (dims.length !== 2 || dims[0] !== 1 || dims[1] !== weights.length) fail(`weights dims [${dims}]`);

  const split = next('Split');
  const axis = split.attribute.find((a) => a.name === 'axis');
  if (split.input[0] !== mul.output[0] || axis === undefined || int(axis.i) !== 1) fail('Split over axis 1');
  if (split.output.length !== weights.length) fail('Split gives one column per feature');

  // The sum is a left fold over the columns in feature order; check that the graph wires exactly that.
  let acc = split.output[0] as string;
  for (const column of split.output.slice(1)) {
    const add = next('Add');
    if (add.input[0] !== acc || add.input[1] !== column) fail(`Add(${acc}, ${column}) out of order`);
    acc = add.output[0] as string;
  }
  const addBias = next('Add');
  const b = init.get(addBias.input[1] ?? '');
  if (addBias.input[0] !== acc || b === undefined) fail('bias Add');
  const bias = floats(b as Tensor);
  if (bias.length !== 1) fail('bias is one value');

  const sigmoid = next('Sigmoid');
  if (sigmoid.input[0] !== addBias.output[0]) fail('Sigmoid of the logit');
  const squeeze = next('Squeeze');
  if (squeeze.input[0] !== sigmoid.output[0] || squeeze.output[0] !== outputName) fail('Squeeze to output');
  if (nodes.length > 0) fail(`unexpected ${nodes.map((n) => n.opType).join(', ')}`);
  return { weights, bias: bias[0] as number };
}

/** The graph's logit for one row, float32 after every op, in the graph's order. */
export function logit({ weights, bias }: LogisticWeights, vector: Float32Array): number {
  if (vector.length !== weights.length) throw new Error('oracle: vector and weights differ in width');
  const terms = Array.from(vector, (x, j) => Math.fround(x * (weights[j] as number)));
  const dot = terms.reduce((sum, t) => Math.fround(sum + t));
  return Math.fround(dot + bias);
}

function sigmoidOnlyModel(): Uint8Array {
  const vector = onnx.TypeProto.create({
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: [onnx.TensorShapeProto.Dimension.create({ dimParam: 'N' })] },
    },
  });
  const graph = onnx.GraphProto.create({
    name: 'oracle_sigmoid',
    node: [onnx.NodeProto.create({ opType: 'Sigmoid', input: ['x'], output: ['y'], name: 'sigmoid' })],
    input: [onnx.ValueInfoProto.create({ name: 'x', type: vector })],
    output: [onnx.ValueInfoProto.create({ name: 'y', type: vector })],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph }),
  ).finish();
}

/**
 * Scores of the given logits: the runtime's Sigmoid, each checked against the float64 sigmoid.
 * @throws Error when a result is further than SIGMOID_BOUND from 1 / (1 + e^-logit).
 */
export async function sigmoidScores(logits: readonly number[]): Promise<Float32Array> {
  if (logits.length === 0) return new Float32Array(0);
  const session = await ort.InferenceSession.create(sigmoidOnlyModel(), {
    graphOptimizationLevel: 'disabled',
    intraOpNumThreads: 1,
  });
  try {
    const x = Float32Array.from(logits);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [x.length]) })).y;
    if (!(y?.data instanceof Float32Array) || y.data.length !== x.length) {
      throw new Error('oracle: Sigmoid gave no float32 output');
    }
    y.data.forEach((s, i) => {
      const exact = 1 / (1 + Math.exp(-(x[i] as number)));
      if (!(Math.abs(s - exact) <= SIGMOID_BOUND)) {
        throw new Error(`oracle: runtime Sigmoid(${x[i]}) = ${s}, more than ${SIGMOID_BOUND} from ${exact}`);
      }
    });
    return y.data;
  } finally {
    await session.release();
  }
}
