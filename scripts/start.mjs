// `npm start`: build, then launch the Electron app. When the Electron binary is missing (it is
// downloaded on first use and some machines have no internet), say so and point to the demo.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' }).status ?? 1;

function electronBinary() {
  try {
    const path = require('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

// require('electron') downloads the binary on first use; it throws when that fails.
if (!electronBinary()) {
  console.error(
    '\nThe Electron binary is not available on this machine, so the desktop app cannot open.\n' +
      'Check your internet connection and run `npm start` again, or run HordeDesk in your browser:\n' +
      '  npm run headless   (your data)\n  npm run demo       (the local horde stand-in)\n',
  );
  process.exit(1);
}
process.exit(run('npx', ['electron-vite', 'preview']) || 0);
