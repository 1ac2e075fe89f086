import { describe, expect, test } from 'vitest';
import { sessionMemoryFor, sessionMemoryOverride, sessionOptions } from '../../src-main/inference/pipeline/sessions';

describe('ONNX Runtime memory settings per provider', () => {
  test('the CPU keeps its arena and goes without memory patterns (docs/memory.md); DirectML runs sequentially without patterns', () => {
    expect(sessionMemoryFor('cpu')).toEqual({ cpuArena: true, memPattern: false, prepacking: true });
    expect(sessionOptions('cpu')).toMatchObject({ enableCpuMemArena: true, enableMemPattern: false, graphOptimizationLevel: 'all' });
    expect(sessionOptions('dml')).toMatchObject({ enableMemPattern: false, executionMode: 'sequential' });
    expect(sessionOptions('cuda')).toMatchObject({ enableCpuMemArena: true, enableMemPattern: true });
  });

  test('HORDEDESK_ORT_MEMORY overrides one knob at a time', () => {
    const cpu = sessionMemoryFor('cpu');
    expect(sessionMemoryOverride(cpu, 'arena=off')).toEqual({ cpuArena: false, memPattern: false, prepacking: true });
    expect(sessionMemoryOverride(cpu, 'pattern=on, prepack=off')).toEqual({ cpuArena: true, memPattern: true, prepacking: false });
    expect(sessionMemoryOverride(cpu, undefined)).toEqual(cpu);
  });

  test('a setting it cannot read is refused with an example, not ignored', () => {
    expect(() => sessionMemoryOverride(sessionMemoryFor('cpu'), 'arena=maybe')).toThrow(/cannot read "arena=maybe" \(e\.g\. arena=off\)/);
    expect(() => sessionMemoryOverride(sessionMemoryFor('cpu'), 'swap=on')).toThrow(/HORDEDESK_ORT_MEMORY/);
  });
});
