import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { capabilityProfileSchema, type CapabilityProfile } from '../../src-main/common/hardware';
import {
  buildCapabilityProfile,
  detectGpuVendor,
  hardwareFactsFromSystemInformation,
  isIntegratedGpu,
  unifiedMemoryShareMiB,
  type HardwareFacts,
  type SiGraphicsController,
  type SystemInformationSnapshot,
} from '../../src-main/core/hardware';

const DETECTED_AT = '2026-11-22T12:00:00.000Z';

type Fixture = SystemInformationSnapshot & { _about: string; nvidiaSmi?: string };

function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/hardware/${name}.json`, import.meta.url), 'utf8')) as Fixture;
}

function factsOf(name: string, extra: { cudaLibrariesInstalled?: boolean } = {}): HardwareFacts {
  const fixture = loadFixture(name);
  return hardwareFactsFromSystemInformation(fixture, { detectedAt: DETECTED_AT, nvidiaSmi: fixture.nvidiaSmi, ...extra });
}

function profileOf(facts: HardwareFacts): CapabilityProfile {
  const profile = buildCapabilityProfile(facts);
  // Every profile must survive the IPC schema, whatever the machine.
  expect(capabilityProfileSchema.parse(profile)).toEqual(profile);
  return profile;
}

function baseFacts(overrides: Partial<HardwareFacts>): HardwareFacts {
  return {
    platform: 'win32',
    arch: 'x64',
    release: 'test',
    cpuBrand: 'Test CPU',
    cores: 8,
    memoryMiB: 32768,
    graphics: { controllers: [] },
    detectedAt: DETECTED_AT,
    ...overrides,
  };
}

const fitsOf = (profile: CapabilityProfile): Record<string, boolean> =>
  Object.fromEntries(profile.modelFamilies.map((entry) => [entry.family, entry.fits]));
const providersOf = (profile: CapabilityProfile): string[] => profile.executionProviders.map((entry) => entry.id);

describe('fixtures → capability profile', () => {
  const cases = [
    {
      fixture: 'windows-nvidia-rtx3060',
      vendor: 'nvidia',
      vram: 12288,
      source: 'nvidia-smi',
      integrated: false,
      providers: ['dml', 'webgpu', 'cpu'],
      maxPixels: 50 * 32768,
      fits: { sd1: true, sd2: true, sdxl: true },
    },
    {
      fixture: 'linux-nvidia-rtx4090',
      vendor: 'nvidia',
      vram: 24564,
      source: 'nvidia-smi',
      integrated: false,
      providers: ['cuda', 'webgpu', 'cpu'],
      maxPixels: 64 * 32768,
      fits: { sd1: true, sd2: true, sdxl: true },
    },
    {
      fixture: 'windows-amd-rx6700xt',
      vendor: 'amd',
      vram: 12288,
      source: 'systeminformation',
      integrated: false,
      providers: ['dml', 'webgpu', 'cpu'],
      maxPixels: 50 * 32768,
      fits: { sd1: true, sd2: true, sdxl: true },
    },
    {
      fixture: 'windows-intel-uhd-laptop',
      vendor: 'intel',
      vram: 1024,
      source: 'systeminformation',
      integrated: true,
      providers: ['dml', 'webgpu', 'cpu'],
      maxPixels: 512 * 512,
      fits: { sd1: true, sd2: true, sdxl: false },
    },
    {
      fixture: 'macos-arm64-m2',
      vendor: 'apple',
      vram: 10922,
      source: 'unified-memory',
      integrated: true,
      providers: ['coreml', 'webgpu', 'cpu'],
      maxPixels: 32 * 32768,
      // 10.9 GB of unified memory holds SDXL's measured UNet and VAE weights plus their allowance (thresholds.ts).
      fits: { sd1: true, sd2: true, sdxl: true },
    },
    {
      fixture: 'windows-hybrid-laptop',
      vendor: 'nvidia',
      vram: 6144,
      source: 'nvidia-smi',
      integrated: false,
      providers: ['dml', 'webgpu', 'cpu'],
      maxPixels: 512 * 512,
      fits: { sd1: true, sd2: false, sdxl: false },
    },
  ] as const;

  test.each(cases)('$fixture', (expected) => {
    const profile = profileOf(factsOf(expected.fixture));
    expect(profile.primaryGpu).toMatchObject({
      vendor: expected.vendor,
      vramMiB: expected.vram,
      vramSource: expected.source,
      integrated: expected.integrated,
    });
    expect(providersOf(profile)).toEqual(expected.providers);
    expect(profile.maxPixels).toBe(expected.maxPixels);
    expect(fitsOf(profile)).toEqual(expected.fits);
    expect(profile.detectedAt).toBe(DETECTED_AT);
    for (const entry of [...profile.executionProviders, ...profile.modelFamilies]) expect(entry.reason.length).toBeGreaterThan(20);
  });

  test('linux-vm-no-gpu (recorded here): CPU only, SD 1.x/2.x by RAM, never SDXL', () => {
    const profile = profileOf(factsOf('linux-vm-no-gpu'));
    expect(profile.gpus).toEqual([]);
    expect(profile.primaryGpu).toBeNull();
    expect(providersOf(profile)).toEqual(['cpu']);
    expect(profile.maxPixels).toBe(262144);
    expect(fitsOf(profile)).toEqual({ sd1: true, sd2: true, sdxl: false });
    expect(profile.notes).toContain('No supported GPU found: HordeDesk will run on the CPU, which is slow (minutes per image).');
    expect(profile.os).toEqual({ platform: 'linux', arch: 'x64', release: 'Debian GNU/Linux 12' });
    expect(profile.cpu).toEqual({ brand: 'AMD EPYC', cores: 2 });
  });

  test('every fixture says where it came from', () => {
    for (const name of [
      'windows-nvidia-rtx3060',
      'linux-nvidia-rtx4090',
      'windows-amd-rx6700xt',
      'windows-intel-uhd-laptop',
      'macos-arm64-m2',
      'linux-vm-no-gpu',
      'windows-hybrid-laptop',
    ]) {
      expect(loadFixture(name)._about).toMatch(/^(Recorded on a real machine|Written by hand in systeminformation)/);
    }
  });

  test('RTX 3060: nvidia-smi replaces the 4095 MiB Windows figure, and the note says so', () => {
    const profile = profileOf(factsOf('windows-nvidia-rtx3060'));
    expect(profile.primaryGpu?.driverVersion).toBe('566.36');
    expect(profile.notes.some((note) => note.includes('Windows reported 4 GB') && note.includes('12 GB'))).toBe(true);
    expect(profile.os.platform).toBe('win32');
    expect(profile.executionProviders[0]?.reason).toContain('no CUDA');
  });

  test('hybrid laptop: both GPUs listed, the NVIDIA one chosen over the integrated Intel', () => {
    const profile = profileOf(factsOf('windows-hybrid-laptop'));
    expect(profile.gpus.map((gpu) => [gpu.vendor, gpu.integrated])).toEqual([
      ['intel', true],
      ['nvidia', false],
    ]);
    expect(profile.primaryGpu?.name).toBe('NVIDIA GeForce RTX 3060 Laptop GPU');
    expect(profile.notes.some((note) => note.startsWith('This computer has 2 graphics processors'))).toBe(true);
  });

  test('Apple silicon: unified memory share, explained', () => {
    const profile = profileOf(factsOf('macos-arm64-m2'));
    expect(profile.notes.some((note) => note.includes('10.7 GB of the 16 GB'))).toBe(true);
    expect(unifiedMemoryShareMiB(65536)).toBe(49152);
  });

  test('Linux NVIDIA without the CUDA libraries: WebGPU first, with a note', () => {
    const profile = profileOf(factsOf('linux-nvidia-rtx4090', { cudaLibrariesInstalled: false }));
    expect(providersOf(profile)).toEqual(['webgpu', 'cpu']);
    expect(profile.notes.some((note) => note.includes('without its CUDA libraries'))).toBe(true);
  });
});

describe('platform rules', () => {
  const rtx: SiGraphicsController = { vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 4070', vram: 12282 };

  test('macOS x64: no onnxruntime-node binary, so no providers and nothing fits', () => {
    const profile = profileOf(
      baseFacts({
        platform: 'darwin',
        arch: 'x64',
        graphics: { controllers: [{ vendor: 'AMD', model: 'AMD Radeon Pro 5500M', bus: 'PCIe', vram: 8192 }] },
      }),
    );
    expect(profile.executionProviders).toEqual([]);
    expect(profile.primaryGpu).toBeNull();
    expect(profile.gpus).toHaveLength(1);
    expect(profile.modelFamilies.every((entry) => !entry.fits)).toBe(true);
    expect(profile.notes.some((note) => note.includes('no build for Intel-based Macs'))).toBe(true);
  });

  test('Linux arm64: CPU only even with a GPU, and the note says why', () => {
    const profile = profileOf(baseFacts({ platform: 'linux', arch: 'arm64', graphics: { controllers: [rtx] } }));
    expect(providersOf(profile)).toEqual(['cpu']);
    expect(profile.primaryGpu).toBeNull();
    expect(profile.notes.some((note) => note.includes('Linux on ARM'))).toBe(true);
  });

  test('Linux x64 AMD: experimental WebGPU then CPU', () => {
    const profile = profileOf(
      baseFacts({
        platform: 'linux',
        graphics: {
          controllers: [
            {
              vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]',
              model: 'Navi 22 [Radeon RX 6700/6700 XT/6750 XT / 6800M/6850M XT]',
              vram: 12288,
            },
          ],
        },
      }),
    );
    expect(providersOf(profile)).toEqual(['webgpu', 'cpu']);
    expect(profile.primaryGpu?.name).toBe('Radeon RX 6700/6700 XT/6750 XT / 6800M/6850M XT');
    expect(profile.notes.some((note) => note.includes('experimental WebGPU'))).toBe(true);
  });

  test("Linux: a 256 MiB PCI window is not taken for the card's memory", () => {
    const profile = profileOf(
      baseFacts({
        platform: 'linux',
        graphics: { controllers: [{ vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]', model: 'Navi 22 [Radeon RX 6700 XT]', vram: 256 }] },
      }),
    );
    expect(profile.primaryGpu).toMatchObject({ vendor: 'amd', vramMiB: null, vramSource: 'unknown' });
    expect(profile.maxPixels).toBe(262144);
    expect(fitsOf(profile)).toEqual({ sd1: true, sd2: false, sdxl: false });
    expect(profile.notes.some((note) => note.includes('graphics memory size unknown'))).toBe(true);
  });

  test('a card under 6 GB is passed over for the CPU', () => {
    const profile = profileOf(
      baseFacts({
        graphics: { controllers: [{ vendor: 'NVIDIA', model: 'NVIDIA GeForce GTX 1650' }] },
        nvidiaSmi: 'NVIDIA GeForce GTX 1650, 4096, 560.94\n',
      }),
    );
    expect(profile.primaryGpu).toBeNull();
    expect(profile.gpus[0]?.vramMiB).toBe(4096);
    expect(providersOf(profile)).toEqual(['cpu']);
    expect(profile.notes.some((note) => note.includes('only 4 GB of graphics memory'))).toBe(true);
  });

  test('integrated graphics on an 8 GB laptop: too little to borrow, and too little RAM for the CPU', () => {
    const facts = factsOf('windows-intel-uhd-laptop');
    const profile = profileOf({ ...facts, memoryMiB: 7972 });
    expect(profile.primaryGpu).toBeNull();
    expect(providersOf(profile)).toEqual(['cpu']);
    expect(fitsOf(profile)).toEqual({ sd1: false, sd2: false, sdxl: false });
  });

  test('SDXL on an 8 GB card: the measured UNet and VAE weights plus the allowance fit, with the encoders released', () => {
    const profile = profileOf(
      baseFacts({
        memoryMiB: 16_000,
        graphics: { controllers: [{ vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 4060' }] },
        nvidiaSmi: 'NVIDIA GeForce RTX 4060, 8188, 560.94\n',
      }),
    );
    expect(fitsOf(profile)).toEqual({ sd1: true, sd2: true, sdxl: true });
    const sdxl = profile.modelFamilies.find((f) => f.family === 'sdxl');
    expect(sdxl?.reason).toMatch(/about 8 GB of graphics memory/);
  });

  test('SDXL on a 6 GB card does not fit: its UNet alone takes 4.8 GB', () => {
    const profile = profileOf(
      baseFacts({
        memoryMiB: 16_000,
        graphics: { controllers: [{ vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 2060' }] },
        nvidiaSmi: 'NVIDIA GeForce RTX 2060, 6144, 560.94\n',
      }),
    );
    expect(fitsOf(profile)).toEqual({ sd1: true, sd2: false, sdxl: false });
  });

  test('SDXL needs 16 GB of system RAM next to a 12 GB card', () => {
    const profile = profileOf(baseFacts({ memoryMiB: 8192, graphics: { controllers: [rtx] } }));
    expect(fitsOf(profile)).toEqual({ sd1: true, sd2: true, sdxl: false });
  });

  test('Windows 4095 MiB without nvidia-smi is kept, with a warning', () => {
    const profile = profileOf(
      baseFacts({
        graphics: { controllers: [{ vendor: 'Advanced Micro Devices, Inc.', model: 'AMD Radeon RX 580 Series', vram: 4095.999998 }] },
      }),
    );
    expect(profile.gpus[0]?.vramMiB).toBe(4095);
    expect(profile.notes.some((note) => note.includes('reporting limit'))).toBe(true);
  });

  test('Linux primary: the NVIDIA card with CUDA beats a bigger AMD card; on Windows memory decides', () => {
    const amd: SiGraphicsController = { vendor: 'Advanced Micro Devices, Inc.', model: 'AMD Radeon RX 7800 XT', vram: 16368 };
    expect(profileOf(baseFacts({ platform: 'linux', graphics: { controllers: [amd, rtx] } })).primaryGpu?.vendor).toBe('nvidia');
    expect(profileOf(baseFacts({ platform: 'win32', graphics: { controllers: [amd, rtx] } })).primaryGpu?.vendor).toBe('amd');
  });

  test('an NVIDIA card only nvidia-smi sees (a container without lspci) is still used', () => {
    const profile = profileOf(baseFacts({ platform: 'linux', nvidiaSmi: 'NVIDIA L4, 23034, 550.54.15\n' }));
    expect(profile.primaryGpu).toMatchObject({ name: 'NVIDIA L4', vramMiB: 23034, vramSource: 'nvidia-smi' });
    expect(profile.maxPixels).toBe(50 * 32768);
  });

  test('nvidia-smi rows pair with the matching si card by name, not just by order', () => {
    const profile = profileOf(
      baseFacts({
        platform: 'linux',
        graphics: {
          controllers: [
            { vendor: 'NVIDIA Corporation', model: 'GA102 [GeForce RTX 3090]', vram: 256 },
            { vendor: 'NVIDIA Corporation', model: 'GA106 [GeForce RTX 3060 Lite Hash Rate]', vram: 256 },
          ],
        },
        nvidiaSmi: 'NVIDIA GeForce RTX 3060, 12288, 550.1\nNVIDIA GeForce RTX 3090, 24576, 550.1\n',
      }),
    );
    expect(profile.gpus.map((gpu) => [gpu.name, gpu.vramMiB])).toEqual([
      ['NVIDIA GeForce RTX 3090', 24576],
      ['NVIDIA GeForce RTX 3060', 12288],
    ]);
  });

  test('virtual and basic adapters are ignored with a note; the machine falls back to the CPU', () => {
    const controllers: SiGraphicsController[] = [
      { vendor: '(Standard display types)', model: 'Microsoft Basic Display Adapter', vram: 0 },
      { vendor: 'VMware, Inc.', model: 'VMware SVGA 3D', vram: 128 },
      { vendor: 'Mesa', model: 'llvmpipe (LLVM 15.0.7, 256 bits)' },
      { vendor: 'ASPEED Technology, Inc.', model: 'ASPEED Graphics Family', vram: 64 },
    ];
    const profile = profileOf(baseFacts({ graphics: { controllers } }));
    expect(profile.gpus).toEqual([]);
    expect(providersOf(profile)).toEqual(['cpu']);
    expect(profile.notes.filter((note) => note.startsWith('Ignored'))).toHaveLength(4);
    expect(profile.notes.some((note) => note.includes('no driver installed'))).toBe(true);
  });
});

describe('vendor and integrated detection', () => {
  test.each([
    [{ vendor: 'NVIDIA' }, 'nvidia'],
    [{ vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]' }, 'amd'],
    [{ vendor: 'ATI Technologies Inc.' }, 'amd'],
    [{ vendor: '', model: 'AMD Radeon RX 6600' }, 'amd'],
    [{ vendor: 'Intel Corporation' }, 'intel'],
    [{ vendor: 'Apple' }, 'apple'],
    [{ vendor: '', model: '', vendorId: '0x10de' }, 'nvidia'],
    [{ vendor: '', model: '', vendorId: '1002' }, 'amd'],
    [{ vendor: '', model: '', vendorId: '0x8086' }, 'intel'],
    [{ vendor: 'Moore Threads', model: 'MTT S80' }, 'other'],
  ] as const)('%o → %s', (controller, vendor) => {
    expect(detectGpuVendor(controller)).toBe(vendor);
  });

  test.each([
    ['AMD Radeon(TM) Graphics', 'amd', true],
    ['AMD Radeon 780M Graphics', 'amd', true],
    ['AMD Radeon(TM) Vega 8 Graphics', 'amd', true],
    ['AMD Radeon RX 7900 XTX', 'amd', false],
    ['Intel(R) UHD Graphics 620', 'intel', true],
    ['Intel(R) Iris(R) Xe Graphics', 'intel', true],
    ['Intel(R) Arc(TM) Graphics', 'intel', true],
    ['Intel(R) Arc(TM) A770 Graphics', 'intel', false],
    ['NVIDIA GeForce RTX 4060', 'nvidia', false],
  ] as const)('%s integrated: %s', (model, vendor, integrated) => {
    expect(isIntegratedGpu({ model, vramDynamic: true }, vendor, 'win32')).toBe(integrated);
  });

  test('vramDynamic counts off Windows: an AMD APU on Linux', () => {
    expect(isIntegratedGpu({ model: 'Some AMD GPU', vramDynamic: true }, 'amd', 'linux')).toBe(true);
    expect(isIntegratedGpu({ model: 'Some AMD GPU', vramDynamic: true }, 'amd', 'win32')).toBe(false);
  });
});

describe('invariants for any facts', () => {
  const controller = fc.record(
    {
      vendor: fc.constantFrom('NVIDIA', 'Advanced Micro Devices, Inc.', 'Intel Corporation', 'Apple', 'VMware, Inc.', '', 'Matrox'),
      model: fc.constantFrom(
        'NVIDIA GeForce RTX 3080',
        'AMD Radeon(TM) Graphics',
        'Intel(R) Arc(TM) A750 Graphics',
        'Apple M3 Max',
        'VMware SVGA 3D',
        '',
      ),
      vram: fc.option(fc.double({ min: -10, max: 200_000, noNaN: true })),
      vramDynamic: fc.boolean(),
      bus: fc.constantFrom('PCI', 'Built-In', 'Onboard', ''),
    },
    { requiredKeys: [] },
  );
  const facts = fc.record({
    platform: fc.constantFrom('win32', 'Windows', 'linux', 'darwin', 'freebsd'),
    arch: fc.constantFrom('x64', 'arm64', 'ia32'),
    memoryMiB: fc.integer({ min: 0, max: 1_048_576 }),
    controllers: fc.array(controller, { maxLength: 4 }),
    nvidiaSmi: fc.option(fc.string(), { nil: undefined }),
    cudaLibrariesInstalled: fc.option(fc.boolean(), { nil: undefined }),
  });

  test('the profile validates, CPU is last, max_pixels is a multiple of 4096 and at least 512²', () => {
    fc.assert(
      fc.property(facts, (input) => {
        const profile = buildCapabilityProfile(baseFacts({ ...input, graphics: { controllers: input.controllers } }));
        expect(capabilityProfileSchema.safeParse(profile).success).toBe(true);
        const ids = providersOf(profile);
        if (ids.length > 0) expect(ids.indexOf('cpu')).toBe(ids.length - 1);
        expect(profile.maxPixels % 4096).toBe(0);
        expect(profile.maxPixels).toBeGreaterThanOrEqual(262144);
        expect(profile.modelFamilies.map((entry) => entry.family)).toEqual(['sd1', 'sd2', 'sdxl']);
        expect(profile.notes.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
