import type { Analysis, DeviceInfo, Settings } from '../app/state.js';

/** What every view gets: the settings, what was computed from them, and a way to change them. */
export interface ViewContext {
  settings: Settings;
  analysis: Analysis;
  device: DeviceInfo;
  update(change: Partial<Settings>): void;
}

export type View = (ctx: ViewContext) => HTMLElement | Promise<HTMLElement>;
