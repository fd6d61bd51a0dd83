// The weights-import worker: reads a foreign weights file, finds its architecture and converts it
// into a checkpoint on tfjs' cpu backend, off the page's thread.
import './models.js';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { handleImportRequest } from './weights-import/worker-job.js';

const ready = tf.setBackend('cpu');
self.onmessage = (event: MessageEvent) => {
  void ready.then(() =>
    handleImportRequest(event.data, (reply, transfer) =>
      self.postMessage(reply, { transfer: transfer ?? [] }),
    ),
  );
};
