// The hardware capability profile: pure functions from detected facts to what this machine can serve.
export { buildCapabilityProfile, choosePrimaryGpu } from './profile';
export type { PrimaryGpuChoice } from './profile';
export { hardwareFactsFromSystemInformation, normalizePlatform } from './facts';
export type { HardwareFacts, SystemInformationSnapshot } from './facts';
export { detectGpuVendor, isIntegratedGpu, normalizeGpus, unifiedMemoryShareMiB, unusableAdapterReason } from './gpus';
export type { SiGraphicsController } from './gpus';
export { NVIDIA_SMI_ARGS, parseNvidiaSmi } from './nvidiaSmi';
export type { NvidiaSmiGpu, NvidiaSmiReport } from './nvidiaSmi';
export { gpuProvidersFor, hasOnnxRuntimeBinary, planExecutionProviders } from './providers';
export type { ProviderChoice, RuntimeTarget } from './providers';
export { assessModelFamilies, gpuMemoryBudgetMiB, suggestMaxPixels } from './sizing';
export type { FamilyVerdict } from './sizing';
