/**
 * The ONNX file format (a protobuf ModelProto) read and written with protobufjs. The schema
 * below declares the messages and field numbers of the ONNX specification (onnx.proto, IR
 * version 10) that a model file uses; fields a newer exporter adds beyond them are skipped on
 * reading, which loses nothing inference needs.
 */
import * as protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8;
    TENSORS = 9; GRAPHS = 10; SPARSE_TENSOR = 11; SPARSE_TENSORS = 12; TYPE_PROTO = 13; TYPE_PROTOS = 14; }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  optional SparseTensorProto sparse_tensor = 22;
  optional TypeProto tp = 14;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  repeated SparseTensorProto sparse_tensors = 23;
  repeated TypeProto type_protos = 15;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
  repeated StringStringEntryProto metadata_props = 4;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  optional string overload = 8;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  repeated StringStringEntryProto metadata_props = 9;
}
message TrainingInfoProto {
  optional GraphProto initialization = 1;
  optional GraphProto algorithm = 2;
  repeated StringStringEntryProto initialization_binding = 3;
  repeated StringStringEntryProto update_binding = 4;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
  repeated TrainingInfoProto training_info = 20;
  repeated FunctionProto functions = 25;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message TensorAnnotation {
  optional string tensor_name = 1;
  repeated StringStringEntryProto quant_parameter_tensor_names = 2;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated SparseTensorProto sparse_initializer = 15;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
  repeated TensorAnnotation quantization_annotation = 14;
  repeated StringStringEntryProto metadata_props = 16;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  message Segment {
    optional int64 begin = 1;
    optional int64 end = 2;
  }
  optional Segment segment = 3;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  optional DataLocation data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  repeated StringStringEntryProto metadata_props = 16;
}
message SparseTensorProto {
  optional TensorProto values = 1;
  optional TensorProto indices = 2;
  repeated int64 dims = 3;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Sequence {
    optional TypeProto elem_type = 1;
  }
  message Map {
    optional int32 key_type = 1;
    optional TypeProto value_type = 2;
  }
  message Optional {
    optional TypeProto elem_type = 1;
  }
  message SparseTensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
    Sequence sequence_type = 4;
    Map map_type = 5;
    Optional optional_type = 9;
    SparseTensor sparse_tensor_type = 8;
  }
  optional string denotation = 6;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
message FunctionProto {
  optional string name = 1;
  repeated string input = 4;
  repeated string output = 5;
  repeated string attribute = 6;
  repeated AttributeProto attribute_proto = 11;
  repeated NodeProto node = 7;
  optional string doc_string = 8;
  repeated OperatorSetIdProto opset_import = 9;
  optional string domain = 10;
  optional string overload = 13;
  repeated ValueInfoProto value_info = 12;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

/** An int64 as protobufjs gives it (a Long object, or a number). */
export type Int64 = number | { toNumber(): number };

/** ONNX tensor element types (TensorProto.DataType) used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

export interface OnnxDim { dimValue?: Int64; dimParam?: string; denotation?: string }
export interface OnnxTypeProto { tensorType?: { elemType?: number; shape?: { dim: OnnxDim[] } }; [k: string]: unknown }
export interface OnnxValueInfo { name: string; type?: OnnxTypeProto; docString?: string }
export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats: number[];
  ints: Int64[];
  [k: string]: unknown;
}
export interface OnnxNode { input: string[]; output: string[]; name?: string; opType: string; domain?: string; attribute: OnnxAttribute[]; [k: string]: unknown }
export interface OnnxTensor {
  dims: Int64[];
  dataType?: number;
  name?: string;
  rawData?: Uint8Array;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  doubleData: number[];
  dataLocation?: number;
  externalData: Array<{ key: string; value: string }>;
  [k: string]: unknown;
}
export interface OnnxGraph {
  node: OnnxNode[];
  name?: string;
  initializer: OnnxTensor[];
  sparseInitializer: unknown[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  [k: string]: unknown;
}
export interface OnnxModel {
  irVersion?: Int64;
  opsetImport: Array<{ domain?: string; version?: Int64 }>;
  producerName?: string;
  producerVersion?: string;
  graph?: OnnxGraph;
  metadataProps: Array<{ key: string; value: string }>;
  functions: unknown[];
  [k: string]: unknown;
}

let modelType: protobuf.Type | undefined;

function ModelProto(): protobuf.Type {
  if (!modelType) modelType = protobuf.parse(SCHEMA, { keepCase: false }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/** Decodes the bytes of a .onnx file (throws protobufjs' error when they are not a ModelProto). */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  return ModelProto().decode(bytes) as unknown as OnnxModel;
}

/** Encodes a (decoded, possibly edited) ModelProto back into .onnx bytes. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const T = ModelProto();
  return T.encode(T.fromObject(model as unknown as Record<string, unknown>)).finish();
}

/** A protobuf int64 as a JavaScript number. */
export function int(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Dimensions of a value's tensor type: numbers, or null for a symbolic or unknown dimension. */
export function valueDims(v: OnnxValueInfo | undefined): Array<number | null> | undefined {
  const dims = v?.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && int(d.dimValue) > 0 ? int(d.dimValue) : null));
}

/** An attribute of a node by name. */
export function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** An int or ints attribute as numbers (a default when absent). */
export function attrInts(node: OnnxNode, name: string, fallback: number[] = []): number[] {
  const a = attr(node, name);
  if (!a) return fallback;
  if (a.ints && a.ints.length > 0) return a.ints.map(int);
  return a.i !== undefined && a.i !== null ? [int(a.i)] : fallback;
}

/** A string attribute (a default when absent). */
export function attrString(node: OnnxNode, name: string, fallback = ''): string {
  const a = attr(node, name);
  return a?.s ? Buffer.from(a.s).toString('utf8') : fallback;
}

/** A float32 value info for `name` with the given dimensions (null: symbolic 'batch'). */
export function floatValueInfo(name: string, dims: Array<number | null>): OnnxValueInfo {
  return {
    name,
    type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: dims.map((d) => (d === null ? { dimParam: 'batch' } : { dimValue: d })) } } },
  };
}
