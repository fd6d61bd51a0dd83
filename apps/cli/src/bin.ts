#!/usr/bin/env node
import { main } from './main.js';

// Exit explicitly: Dawn (WebGPU) and worker pools can keep the event loop alive after the work is done.
main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`semseg: ${String(error)}\n`);
    process.exit(1);
  },
);
