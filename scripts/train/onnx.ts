/**
 * Writes a logistic-regression scorer as an ONNX graph with onnx-proto (protobufjs), no Python needed.
 *
 * The graph is Mul(x[N,F], w[1,F]) → Split into F columns → Add them one by one, in feature order → Add(b) →
 * Sigmoid → Squeeze → score[N]. Every op is elementwise, so a row's score does not depend on the other rows
 * of its batch or on its position: it scores to the same bits alone or in a batch of any size. Replays and
 * the reproducibility check depend on that; a unit test holds it for the shipped model (and it was checked
 * for widths 1–64, batch sizes 1–1200, 1 and 2 intra-op threads).
 * Reductions are avoided on purpose. MatMul/Gemm kernels tile by batch size, and even ReduceSum over axis 1
 * was measured to differ in the last bit between a row alone and the same row in a batch of 7 (most likely
 * the vectorised sum peeling to an aligned address, which depends on where the row sits in the buffer).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const IR_VERSION = 8;
export const OPSET = 17;

export interface LogisticOnnxOptions {
  readonly weights: readonly number[];
  readonly bias: number;
  readonly inputName: string;
  readonly outputName: string;
  /** Overrides the input width written in the graph (tests use it to build a mismatched model). */
  readonly declaredWidth?: number;
  readonly graphName?: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

type Dim = { dimValue: number } | { dimParam: string };

export function tensorType(elemType: number, dims: readonly Dim[]): InstanceType<typeof onnx.TypeProto> {
  return onnx.TypeProto.create({
    tensorType: { elemType, shape: { dim: dims.map((d) => onnx.TensorShapeProto.Dimension.create(d)) } },
  });
}

function floatTensor(name: string, dims: number[], values: readonly number[]) {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    floatData: [...values],
  });
}

/** Serialised ONNX bytes; the same options always give the same bytes (protobufjs writes fields in order). */
export function logisticRegressionOnnx(options: LogisticOnnxOptions): Uint8Array {
  const features = options.weights.length;
  const width = options.declaredWidth ?? features;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const columns = Array.from({ length: features }, (_, j) => `term_${j}`);
  const node = (opType: string, input: string[], output: string[], attribute: object[] = []) =>
    onnx.NodeProto.create({ opType, input, output, name: `${opType.toLowerCase()}_${output[0]}`, attribute });
  const nodes = [
    node('Mul', [options.inputName, 'weights'], ['weighted']),
    node('Split', ['weighted'], columns, [
      { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
    ]),
  ];
  // ((t0 + t1) + t2) + …: the summation order is fixed by the graph, not by a kernel.
  let sum = columns[0] as string;
  for (let j = 1; j < features; j++) {
    const next = j === features - 1 ? 'dot' : `partial_${j}`;
    nodes.push(node('Add', [sum, columns[j] as string], [next]));
    sum = next;
  }
  nodes.push(
    node('Add', [sum, 'bias'], ['logit']),
    node('Sigmoid', ['logit'], ['probability']),
    node('Squeeze', ['probability', 'squeeze_axes'], [options.outputName]),
  );
  const graph = onnx.GraphProto.create({
    name: options.graphName ?? 'logistic_regression',
    initializer: [
      floatTensor('weights', [1, features], options.weights),
      floatTensor('bias', [1], [options.bias]),
      onnx.TensorProto.create({
        name: 'squeeze_axes',
        dims: [1],
        dataType: onnx.TensorProto.DataType.INT64,
        int64Data: [1],
      }),
    ],
    node: nodes,
    input: [
      onnx.ValueInfoProto.create({
        name: options.inputName,
        type: tensorType(FLOAT, [{ dimParam: 'N' }, { dimValue: width }]),
      }),
    ],
    output: [
      onnx.ValueInfoProto.create({ name: options.outputName, type: tensorType(FLOAT, [{ dimParam: 'N' }]) }),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'streamscore-train',
    producerVersion: '1',
    docString: options.docString ?? '',
    graph,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
