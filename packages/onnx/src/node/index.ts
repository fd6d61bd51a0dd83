// Node-only entry (the onnxruntime-node path lives here; owned by the runtime work of issue 23).
export {};
