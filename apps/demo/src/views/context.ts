import type { Analysis, DeviceInfo, Settings } from '../app/state.js';
import type { CurrentModel } from '../model/current-model.js';

/** What every view gets: the settings, what was computed from them, and a way to change them. */
export interface ViewContext {
  settings: Settings;
  analysis: Analysis;
  device: DeviceInfo;
  /** What the model views draw from: the seeded random layer or a loaded checkpoint. */
  model: CurrentModel;
  update(change: Partial<Settings>): void;
  /** Make `model` the current model (e.g. the one trained in the Train view); the app owns it. */
  useModel(model: CurrentModel): void;
}

export type View = (ctx: ViewContext) => HTMLElement | Promise<HTMLElement>;
