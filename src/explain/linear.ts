/**
 * Recognises a linear-logit model in its ONNX graph: σ(Σ wⱼ·xⱼ + b), written with elementwise ops only
 * (Mul by a weight initializer, column sums, Add of a one-value bias initializer, Sigmoid, shape ops).
 * For such a model the reason codes are exact (explain.ts); any other graph gets the model-agnostic path.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Tensor = onnxProto.onnx.TensorProto;
type Node = onnxProto.onnx.NodeProto;

export interface LinearLogit {
  readonly weights: Float64Array;
  readonly bias: number;
}

const SHAPE_OPS = new Set(['Split', 'Squeeze', 'Unsqueeze', 'Reshape', 'Identity', 'Flatten']);
const SUM_OPS = new Set(['Add', 'Sum', 'ReduceSum']);

function values(t: Tensor): Float64Array | null {
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) return null;
  if (t.floatData.length > 0) return Float64Array.from(t.floatData);
  const raw = t.rawData;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float64Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** The weights and bias when the graph is a linear logit of `width` inputs under a sigmoid; else null. */
export function linearLogitOf(onnxBytes: Uint8Array, inputName: string, width: number): LinearLogit | null {
  let graph;
  try {
    graph = onnx.ModelProto.decode(onnxBytes).graph;
  } catch {
    return null;
  }
  if (graph === null || graph === undefined) return null;
  const init = new Map((graph.initializer as Tensor[]).map((t) => [t.name, t]));
  const nodes = graph.node as Node[];
  let weights: Float64Array | null = null;
  let bias: number | null = null;
  let sigmoids = 0;
  for (const n of nodes) {
    const consts = n.input.filter((i) => init.has(i));
    if (n.opType === 'Mul') {
      // the only Mul multiplies the input by the weights
      if (weights !== null || n.input[0] !== inputName || consts.length !== 1) return null;
      const w = values(init.get(consts[0] as string) as Tensor);
      if (w === null || w.length !== width) return null;
      weights = w;
    } else if (SUM_OPS.has(n.opType)) {
      if (n.opType === 'ReduceSum' && consts.length > 0) continue; // axes given as an input
      if (consts.length === 0) continue;
      // one Add of a single constant: the bias
      const b = values(init.get(consts[0] as string) as Tensor);
      if (bias !== null || consts.length !== 1 || b === null || b.length !== 1) return null;
      bias = b[0] as number;
    } else if (n.opType === 'Sigmoid') {
      sigmoids++;
    } else if (!SHAPE_OPS.has(n.opType)) {
      return null;
    }
  }
  if (weights === null || sigmoids !== 1) return null;
  return { weights, bias: bias ?? 0 };
}
