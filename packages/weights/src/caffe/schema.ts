// The part of BVLC caffe.proto (src/caffe/proto/caffe.proto) a weights import needs, with the
// same field numbers. Everything else in a layer (its *_param messages, and the fields that
// DeepLab's and DeconvNet's forks added) is an unknown field that protobufjs skips. The blob
// values (BlobProto.data = 5, double_data = 8, both packed) are located by the reader instead of
// decoded here, so that a 500 MB model is never copied into JavaScript number arrays.
import protobuf from 'protobufjs';

const CAFFE_SUBSET = `
syntax = "proto2";
package caffe;
message BlobShape { repeated int64 dim = 1 [packed = true]; }
message BlobProto {
  optional BlobShape shape = 7;
  optional int32 num = 1 [default = 0];
  optional int32 channels = 2 [default = 0];
  optional int32 height = 3 [default = 0];
  optional int32 width = 4 [default = 0];
}
message LayerParameter {
  optional string name = 1;
  optional string type = 2;
  repeated string bottom = 3;
  repeated string top = 4;
}
message V1LayerParameter {
  repeated string bottom = 2;
  repeated string top = 3;
  optional string name = 4;
  optional int32 type = 5;
}
message V0LayerParameter {
  optional string name = 1;
  optional string type = 2;
}
`;

const root = protobuf.parse(CAFFE_SUBSET, { keepCase: true }).root;

export const BlobProto = root.lookupType('caffe.BlobProto');
export const LayerParameter = root.lookupType('caffe.LayerParameter');
export const V1LayerParameter = root.lookupType('caffe.V1LayerParameter');
export const V0LayerParameter = root.lookupType('caffe.V0LayerParameter');

/** NetParameter's fields: `layer` (V2), `layers` (V1). */
export const NET_LAYER = 100;
export const NET_LAYERS_V1 = 2;
/** Where each layer kind keeps its blobs, and V1's embedded V0 layer. */
export const LAYER_BLOBS = 7;
export const V1_BLOBS = 6;
export const V1_V0_LAYER = 1;
export const V0_BLOBS = 50;
/** BlobProto's value fields. */
export const BLOB_DATA = 5;
export const BLOB_DIFF = 6;
export const BLOB_DOUBLE_DATA = 8;
export const BLOB_DOUBLE_DIFF = 9;

/** V1LayerParameter.LayerType values of layers with parameters, as V2 type names. */
export const V1_TYPES: Readonly<Record<number, string>> = {
  4: 'Convolution',
  39: 'Deconvolution',
  14: 'InnerProduct',
  18: 'ReLU',
  17: 'Pooling',
  6: 'Dropout',
  5: 'Data',
  25: 'Eltwise',
  3: 'Concat',
  21: 'SoftmaxWithLoss',
  20: 'Softmax',
  22: 'Split',
  1: 'Accuracy',
  15: 'LRN',
  12: 'ImageData',
  29: 'MemoryData',
};

export { protobuf };
