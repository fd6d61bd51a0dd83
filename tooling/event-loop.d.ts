/** Resolves after the tasks already queued (timers, I/O, vitest's RPC) have had their turn. */
export declare function nextMacrotask(): Promise<void>;
