import type { CapabilityProfile } from '../../../src-main/common/hardware';
import { useState } from 'react';
import { useBridge, useCommand, useEvent } from '../bridge/BridgeContext';
import { FAMILY_NAMES, PROVIDER_NAMES } from '../components/format';
import { NoteList } from '../components/NoteList';

function formatPixels(px: number): string {
  const side = Math.floor(Math.sqrt(px) / 64) * 64;
  return `${px.toLocaleString('en-US')} px (about ${side}×${side})`;
}

function vram(profile: CapabilityProfile): string {
  const gpu = profile.primaryGpu;
  if (!gpu) return 'none';
  if (gpu.vramMiB === null) return 'unknown';
  const source = {
    'nvidia-smi': 'from nvidia-smi',
    systeminformation: 'reported by the OS',
    'unified-memory': 'shared with system memory',
    unknown: '',
  }[gpu.vramSource];
  return `${(gpu.vramMiB / 1024).toFixed(1)} GB ${source}`.trim();
}

/** What HordeDesk found in this machine, and what it means for the horde work it can take. */
export function HardwareCard() {
  const bridge = useBridge();
  const profile = useCommand('hardware.profile', { refresh: false });
  const [detecting, setDetecting] = useState(false);
  useEvent('hardware.changed', profile.set);
  const detectAgain = (): void => {
    setDetecting(true);
    bridge
      .invoke('hardware.profile', { refresh: true })
      .then(profile.set)
      .catch(() => profile.reload())
      .finally(() => setDetecting(false));
  };
  const p = profile.data;
  return (
    <section className="card" data-testid="hardware-card">
      <header>
        <h2>This machine</h2>
        <button onClick={detectAgain} disabled={detecting}>
          Detect again
        </button>
      </header>
      {profile.error && <p className="error">{profile.error}</p>}
      {!p ? (
        <p className="muted">Detecting hardware…</p>
      ) : (
        <>
          <dl>
            <dt>GPU</dt>
            <dd data-testid="gpu-name">
              {p.primaryGpu ? `${p.primaryGpu.name}${p.primaryGpu.integrated ? ' (integrated)' : ''}` : 'No usable GPU (CPU only)'}
            </dd>
            <dt>VRAM</dt>
            <dd data-testid="gpu-vram">{vram(p)}</dd>
            {p.primaryGpu?.driverVersion && (
              <>
                <dt>Driver</dt>
                <dd>{p.primaryGpu.driverVersion}</dd>
              </>
            )}
            <dt>CPU</dt>
            <dd>
              {p.cpu.brand} · {p.cpu.cores} cores · {(p.memoryMiB / 1024).toFixed(0)} GB RAM
            </dd>
            <dt>Max image size</dt>
            <dd data-testid="max-pixels">{formatPixels(p.maxPixels)}</dd>
          </dl>
          <h3>Backends to try, in order</h3>
          <ol data-testid="providers">
            {p.executionProviders.map((ep) => (
              <li key={ep.id}>
                <strong>{PROVIDER_NAMES[ep.id]}</strong> — {ep.reason}
              </li>
            ))}
          </ol>
          <h3>Model families</h3>
          <ul data-testid="families">
            {p.modelFamilies.map((f) => (
              <li key={f.family} className={f.fits ? 'fits' : 'no-fit'}>
                {f.fits ? '✓' : '✗'} {FAMILY_NAMES[f.family]}: {f.reason}
              </li>
            ))}
          </ul>
          <NoteList notes={p.notes} className="notes" />
        </>
      )}
    </section>
  );
}
