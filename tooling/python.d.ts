/** A python3 that imports torch and torchvision, or null (throws in CI when there is none). */
export declare function torchPython(): string | null;
/** Why PyTorch tests skip on this machine, or null when they run. */
export declare function torchSkipReason(): string | null;
export interface TorchScriptResult {
  stdout: string;
  files: Record<string, Uint8Array>;
}
/** Runs `script` (its argv[1] is a fresh temp folder holding `files`); returns stdout and the `read` files. */
export declare function runTorchScript(
  script: string,
  options?: { files?: Record<string, string | Uint8Array>; read?: string[]; timeoutMs?: number },
): TorchScriptResult;
/** `runTorchScript` on a child process that does not block the event loop. */
export declare function runTorchScriptAsync(
  script: string,
  options?: { files?: Record<string, string | Uint8Array>; read?: string[]; timeoutMs?: number },
): Promise<TorchScriptResult>;
