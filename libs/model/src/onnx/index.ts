export { exportOnnx, OnnxExportError, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, ONNX_OPSET } from './export';
export type { OnnxExportErrorCode } from './export';
