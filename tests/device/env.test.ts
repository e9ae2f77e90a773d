// KILN_DEVICE on a machine without a GPU: 'cpu' never asks for the CUDA backend, 'gpu' warns once
// and uses the CPU, anything else is a clear error. Each case imports a fresh copy of the device
// module (the default device is resolved once per process).
import './no_gpu.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { native } from '../../backends/native.js';

const saved = process.env.KILN_DEVICE;
afterEach(() => {
  if (saved === undefined) delete process.env.KILN_DEVICE;
  else process.env.KILN_DEVICE = saved;
});

async function freshDeviceModule(env: string | undefined) {
  if (env === undefined) delete process.env.KILN_DEVICE;
  else process.env.KILN_DEVICE = env;
  vi.resetModules();
  return await import('../../core/device.js');
}

/** Runs fn counting native.devices() calls and capturing stderr (both still go through). */
function observe<T>(fn: () => T): { value: T; loads: number; stderr: string } {
  const origDevices = native.devices;
  const origWrite = process.stderr.write;
  let loads = 0,
    stderr = '';
  native.devices = () => {
    loads++;
    return origDevices.call(native);
  };
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stderr += String(chunk);
    return (origWrite as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return { value: fn(), loads, stderr };
  } finally {
    native.devices = origDevices;
    process.stderr.write = origWrite;
  }
}

describe('KILN_DEVICE', () => {
  it("'cpu' uses the CPU without loading the CUDA backend", async () => {
    const d = await freshDeviceModule('cpu');
    const r = observe(() => [d.currentDeviceIndex(), d.defaultDevice().toString()]);
    expect(r.value).toEqual([0, 'cpu']);
    expect(r.loads).toBe(0);
    expect(r.stderr).toBe('');
  });

  it("'gpu' without a GPU prints the reason once and uses the CPU", async () => {
    const d = await freshDeviceModule('gpu');
    const reason = native.devices().unavailable;
    const r = observe(() => [d.currentDeviceIndex(), d.currentDeviceIndex(), d.defaultDevice().toString()]);
    expect(r.value).toEqual([0, 0, 'cpu']);
    expect(r.stderr).toBe(`[kiln] CUDA backend unavailable: ${reason}; using the CPU\n`);
    expect(r.loads).toBe(1);
  });

  it('unset: the CPU when no GPU loaded, silently', async () => {
    const d = await freshDeviceModule(undefined);
    const r = observe(() => d.defaultDevice().toString());
    expect(r.value).toBe('cpu');
    expect(r.stderr).toBe('');
  });

  it('another value is an error naming the variable', async () => {
    const d = await freshDeviceModule('tpu');
    expect(() => d.currentDeviceIndex()).toThrow("[kiln] KILN_DEVICE must be 'cpu', 'gpu' or 'gpu:N', got 'tpu'");
    // setDefaultDevice still works (the variable is not read again once a default is set)
    d.setDefaultDevice('cpu');
    expect(d.currentDeviceIndex()).toBe(0);
  });
});
