// Real PyTorch as an independent reference for tests (Debian's python3-torch and
// python3-torchvision, which .ci/run installs). Without it a developer machine skips those tests
// with a reason; in CI (CI=true) a missing PyTorch is an error, never a silent skip.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let cached;

/** A python3 that imports torch and torchvision, or null. `SEMSEG_PYTHON` names one explicitly. */
export function torchPython() {
  if (cached !== undefined) return cached;
  cached = null;
  for (const candidate of [process.env.SEMSEG_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!candidate) continue;
    const probe = spawnSync(candidate, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    if (probe.status === 0) {
      cached = candidate;
      break;
    }
  }
  if (cached === null && process.env.CI) {
    throw new Error(
      'CI needs real PyTorch for the reference tests: apt-get install python3-torch python3-torchvision',
    );
  }
  return cached;
}

/** Why PyTorch tests skip here, or null when they run. */
export function torchSkipReason() {
  return torchPython()
    ? null
    : 'no python3 with torch and torchvision (apt-get install python3-torch python3-torchvision)';
}

/**
 * Runs a Python script with the torch interpreter in a fresh temporary folder (its only argument),
 * after `files` are written there; returns the contents of the files named in `read`.
 */
export function runTorchScript(script, { files = {}, read = [], timeoutMs = 300_000 } = {}) {
  const python = torchPython();
  if (!python) throw new Error(torchSkipReason());
  const dir = mkdtempSync(join(tmpdir(), 'semseg-torch-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    writeFileSync(join(dir, 'script.py'), script);
    const run = spawnSync(python, [join(dir, 'script.py'), dir], {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    if (run.status !== 0) throw new Error(`python failed (${run.status}): ${run.stderr || run.stdout}`);
    const out = { stdout: run.stdout, files: {} };
    for (const name of read) out.files[name] = new Uint8Array(readFileSync(join(dir, name)));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `runTorchScript` without blocking the event loop: a long PyTorch reference (a ResNet-101 built,
 * calibrated and saved) would otherwise block the test worker past vitest's fixed 60 s RPC timeout.
 */
export async function runTorchScriptAsync(script, { files = {}, read = [], timeoutMs = 300_000 } = {}) {
  const python = torchPython();
  if (!python) throw new Error(torchSkipReason());
  const dir = mkdtempSync(join(tmpdir(), 'semseg-torch-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    writeFileSync(join(dir, 'script.py'), script);
    const { status, stdout, stderr } = await new Promise((resolve, reject) => {
      const child = spawn(python, [join(dir, 'script.py'), dir], {
        env: { ...process.env, OMP_NUM_THREADS: '1' },
        timeout: timeoutMs,
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk) => {
        out += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk) => {
        err += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ status: code, stdout: out, stderr: err }));
    });
    if (status !== 0) throw new Error(`python failed (${status}): ${stderr || stdout}`);
    const out = { stdout, files: {} };
    for (const name of read) out.files[name] = new Uint8Array(readFileSync(join(dir, name)));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
