import { describe, expect, test } from 'vitest';
import { parseNvidiaSmi } from '../../src-main/core/hardware';

describe('parseNvidiaSmi', () => {
  test('reads several GPUs, with Windows line endings and stray spaces', () => {
    const report = parseNvidiaSmi('NVIDIA GeForce RTX 4090, 24564, 550.120\r\n  NVIDIA RTX A4000 ,16376,550.120 \r\n\r\n');
    expect(report.gpus).toEqual([
      { name: 'NVIDIA GeForce RTX 4090', memoryMiB: 24564, driverVersion: '550.120' },
      { name: 'NVIDIA RTX A4000', memoryMiB: 16376, driverVersion: '550.120' },
    ]);
    expect(report.notes).toEqual([]);
  });

  test('empty output means no NVIDIA GPU and nothing to say', () => {
    expect(parseNvidiaSmi('')).toEqual({ gpus: [], notes: [] });
    expect(parseNvidiaSmi('\n \r\n')).toEqual({ gpus: [], notes: [] });
  });

  test('a driver failure message becomes a note, not a GPU', () => {
    const report = parseNvidiaSmi(
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
    );
    expect(report.gpus).toEqual([]);
    expect(report.notes).toHaveLength(1);
    expect(report.notes[0]).toContain("couldn't communicate with the NVIDIA driver");
  });

  test('"No devices were found" and NVML errors are ignored with a note each', () => {
    const report = parseNvidiaSmi('No devices were found\nFailed to initialize NVML: Driver/library version mismatch\n');
    expect(report.gpus).toEqual([]);
    expect(report.notes).toHaveLength(2);
  });

  test('junk between GPU rows is skipped and the rows survive', () => {
    const report = parseNvidiaSmi(
      'WARNING: infoROM is corrupted at gpu 0000:01:00.0\nNVIDIA GeForce RTX 3060, 12288, 566.36\nnot, a, gpu\n',
    );
    expect(report.gpus).toEqual([{ name: 'NVIDIA GeForce RTX 3060', memoryMiB: 12288, driverVersion: '566.36' }]);
    expect(report.notes).toHaveLength(2);
  });

  test('[N/A] memory keeps the GPU with unknown memory and says so', () => {
    const report = parseNvidiaSmi('NVIDIA GB10, [N/A], 580.95.05\n');
    expect(report.gpus).toEqual([{ name: 'NVIDIA GB10', memoryMiB: null, driverVersion: '580.95.05' }]);
    expect(report.notes.join(' ')).toContain('did not say how much graphics memory the NVIDIA GB10 has');
  });

  test('[N/A] driver version is kept as null', () => {
    expect(parseNvidiaSmi('Tesla T4, 15360, [N/A]').gpus).toEqual([{ name: 'Tesla T4', memoryMiB: 15360, driverVersion: null }]);
  });

  test('a name containing a comma is read from the right and stays whole', () => {
    expect(parseNvidiaSmi('Odd, Name GPU, 8192, 535.54.03').gpus).toEqual([
      { name: 'Odd, Name GPU', memoryMiB: 8192, driverVersion: '535.54.03' },
    ]);
  });

  test('rows with units (a query without nounits) are rejected rather than misread', () => {
    const report = parseNvidiaSmi('NVIDIA GeForce RTX 3060, 12288 MiB, 566.36');
    expect(report.gpus).toEqual([]);
    expect(report.notes).toHaveLength(1);
  });

  test('very long junk lines are shortened in the note', () => {
    const report = parseNvidiaSmi('x'.repeat(1000));
    expect(report.notes[0]?.length).toBeLessThan(300);
  });
});
