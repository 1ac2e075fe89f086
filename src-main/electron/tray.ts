import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import type { TrayAction, TrayMenuModel } from '../core/trayMenu';

/** Where icons live: `resources/` in a checkout, `process.resourcesPath` when packaged. */
export function resourcePath(file: string, packaged: boolean): string {
  return packaged ? join(process.resourcesPath, file) : join(import.meta.dirname, '../../resources', file);
}

/** Renders a TrayMenuModel; the model itself comes from core/trayMenu.ts. */
export function createAppTray(
  packaged: boolean,
  onAction: (action: TrayAction) => void,
): { render(model: TrayMenuModel): void; destroy(): void } {
  const icons = new Map<string, Electron.NativeImage>();
  const icon = (name: TrayMenuModel['icon']): Electron.NativeImage => {
    let image = icons.get(name);
    if (!image) {
      image = nativeImage.createFromPath(resourcePath(`tray-${name}.png`, packaged));
      icons.set(name, image);
    }
    return image;
  };
  const tray = new Tray(icon('idle'));
  tray.on('click', () => onAction('open'));
  return {
    render(model) {
      tray.setImage(icon(model.icon));
      tray.setToolTip(model.tooltip);
      const template: MenuItemConstructorOptions[] = model.items.map((item) => {
        if (item.kind === 'separator') return { type: 'separator' };
        if (item.kind === 'label') return { label: item.label, enabled: false };
        return { label: item.label, click: () => onAction(item.action) };
      });
      tray.setContextMenu(Menu.buildFromTemplate(template));
    },
    destroy: () => tray.destroy(),
  };
}
