import type { CurrentModel } from '../model/current-model.js';
import { type CheckpointFiles, loadCheckpoint } from '../model/hf-model.js';
import { type DownloadProgress, fetchCheckpoint } from '../model/hub.js';
import { randomLayerModel } from '../model/random-model.js';
import {
  disposeProjections,
  type Projections,
  projectionsFromSafetensors,
  randomProjections,
} from '../model/weights.js';
import { h } from '../ui/dom.js';
import { clearErrors, showError } from '../ui/error-panel.js';
import type { View, ViewContext } from '../views/context.js';
import { headsView } from '../views/heads-view.js';
import { masksView } from '../views/masks-view.js';
import { modelView } from '../views/model-view.js';
import { nextTokenView } from '../views/next-token-view.js';
import { positionsView } from '../views/positions-view.js';
import { searchView } from '../views/search-view.js';
import { tokensView } from '../views/tokens-view.js';
import { trainView } from '../views/train-view.js';
import { analyse } from './analyse.js';
import {
  type Analysis,
  DEFAULT_SETTINGS,
  type DeviceInfo,
  MODEL_VIEWS,
  type Settings,
  VIEW_TITLES,
  VIEWS,
  type ViewName,
} from './state.js';
import { timingDevice } from './timing-device.js';

const RENDERERS: Record<ViewName, View> = {
  tokens: tokensView,
  search: searchView,
  heads: headsView,
  model: modelView,
  next: nextTokenView,
  masks: masksView,
  positions: positionsView,
  train: trainView,
};

export interface AppElements {
  controls: HTMLElement;
  nav: HTMLElement;
  main: HTMLElement;
  errors: HTMLElement;
  weightsLabel: HTMLElement;
  /** Download and upload progress of a checkpoint. */
  progress: HTMLProgressElement;
  progressLabel: HTMLElement;
}

/** Said on every view that draws the seeded random layer: nothing there was learned. */
export function randomBanner(): HTMLElement {
  return h(
    'p',
    { class: 'banner', role: 'note', 'data-testid': 'random-banner' },
    'untrained random weights: these patterns are chance',
  );
}

/** The explorer: settings in, one view at a time out, errors into the panel. */
export class App {
  settings: Settings;
  #projections: Projections | undefined;
  /** A checkpoint loaded with @qkv/models; the seeded random layer when undefined. */
  #loaded: CurrentModel | undefined;
  #analysis: Analysis | undefined;
  #stale = true;
  #renders = 0;

  constructor(
    readonly el: AppElements,
    readonly device: DeviceInfo,
    initial: Partial<Settings> = {},
  ) {
    this.settings = { ...DEFAULT_SETTINGS, ...initial };
  }

  update(change: Partial<Settings>): void {
    const modelKeys: (keyof Settings)[] = [
      'text',
      'crossText',
      'encoding',
      'mode',
      'numHeads',
      'dModel',
      'seed',
      'causal',
      'positions',
    ];
    if (modelKeys.some((k) => k in change && change[k] !== this.settings[k])) this.#stale = true;
    if (
      ('dModel' in change || 'seed' in change) &&
      this.#projections?.source.startsWith('seeded')
    ) {
      disposeProjections(this.#projections);
      this.#projections = undefined;
    }
    this.settings = { ...this.settings, ...change };
    void this.render();
  }

  /** Use weights from a safetensors file the user picked. */
  async loadWeights(file: File): Promise<void> {
    try {
      const projections = projectionsFromSafetensors(
        new Uint8Array(await file.arrayBuffer()),
        file.name,
      );
      if (this.#projections) disposeProjections(this.#projections);
      this.#projections = projections;
      this.#stale = true;
      this.settings = { ...this.settings, dModel: projections.dModel };
      await this.render();
    } catch (error) {
      showError(this.el.errors, error, `Loading ${file.name}`);
    }
  }

  /**
   * Fetch a checkpoint from a hub-style resolve URL (kept in Cache Storage), load it with
   * @qkv/models on WebGPU when there is one, else the CPU, and make it the current model.
   */
  async loadFromHub(base: string): Promise<void> {
    let downloaded = false;
    const files = await this.#withProgress(`Loading ${base}`, (report) =>
      fetchCheckpoint(base, (p: DownloadProgress) => {
        downloaded ||= !p.cached;
        report(
          p.loadedBytes,
          p.totalBytes,
          `${p.cached ? 'from Cache Storage' : 'downloading'} ${p.file}`,
        );
      }),
    );
    if (!files) return;
    const repo = base.replace(/^https?:\/\/[^/]+\//, '').replace(/\/resolve\/.*$/, '');
    await this.loadFiles(files, downloaded ? repo : `${repo}, read from Cache Storage`);
  }

  /** Load checkpoint files (from the hub or a file picker) as the current model. */
  async loadFiles(files: CheckpointFiles, origin: string): Promise<void> {
    const loaded = await this.#withProgress(`Loading ${origin}`, async (report) => {
      const { device, name } = await timingDevice(this.device);
      return loadCheckpoint(files, {
        device,
        deviceLabel: device.backend === 'webgpu' ? name : `the ${name}`,
        origin,
        onProgress: (p) => report(p.loadedTensors, p.totalTensors, `uploading tensors (${p.file})`),
      });
    });
    if (!loaded) return;
    this.#loaded?.dispose();
    this.#loaded = loaded;
    this.el.weightsLabel.textContent = `Model: ${loaded.label}`;
    await this.render();
  }

  async #withProgress<T>(
    what: string,
    run: (report: (done: number, total: number | undefined, label: string) => void) => Promise<T>,
  ): Promise<T | undefined> {
    const { progress, progressLabel } = this.el;
    progress.hidden = false;
    progress.removeAttribute('value');
    clearErrors(this.el.errors);
    try {
      return await run((done, total, label) => {
        if (total) {
          progress.max = total;
          progress.value = done;
        } else progress.removeAttribute('value');
        const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
        progressLabel.textContent = label.startsWith('uploading')
          ? `${label}: ${done} of ${total}`
          : `${label}: ${mb(done)}${total ? ` of ${mb(total)}` : ''}`;
      });
    } catch (error) {
      showError(this.el.errors, error, what);
      return undefined;
    } finally {
      progress.hidden = true;
      progressLabel.textContent = '';
    }
  }

  /** Make a model built on the page (the Train view's) the current model. */
  useModel(model: CurrentModel): void {
    this.#loaded?.dispose();
    this.#loaded = model;
    this.el.weightsLabel.textContent = `Model: ${model.label}`;
  }

  useRandomWeights(): void {
    this.#loaded?.dispose();
    this.#loaded = undefined;
    if (this.#projections) disposeProjections(this.#projections);
    this.#projections = undefined;
    this.#stale = true;
    void this.render();
  }

  async render(): Promise<void> {
    const ticket = ++this.#renders;
    clearErrors(this.el.errors);
    this.#renderNav();
    const main = this.el.main;
    main.setAttribute('aria-busy', 'true');
    main.removeAttribute('data-ready');
    try {
      this.#projections ??= randomProjections(this.settings.dModel, this.settings.seed);
      if (!this.#loaded) {
        this.el.weightsLabel.textContent = `Weights: ${this.#projections.source}, d_model ${this.#projections.dModel}`;
      }
      if (this.#stale || !this.#analysis) {
        this.#analysis = await analyse(this.settings, this.#projections);
        this.#stale = false;
      }
      const ctx: ViewContext = {
        settings: this.settings,
        analysis: this.#analysis,
        device: this.device,
        model: this.#loaded ?? randomLayerModel(this.settings, this.#projections),
        update: (change) => this.update(change),
        useModel: (model) => this.useModel(model),
      };
      const view = await RENDERERS[this.settings.view](ctx);
      if (ticket !== this.#renders) return;
      // The search view always draws the seeded layer; the others draw the current model.
      const drawsRandom = this.settings.view === 'search' ? true : !ctx.model.trained;
      const random = this.#projections.source.startsWith('seeded') && drawsRandom;
      main.replaceChildren(
        ...(random && MODEL_VIEWS.includes(this.settings.view) ? [randomBanner()] : []),
        view,
      );
    } catch (error) {
      if (ticket !== this.#renders) return;
      this.#analysis = undefined;
      main.replaceChildren(
        h('p', { class: 'note' }, 'This view could not be drawn; see the message above.'),
      );
      showError(this.el.errors, error, VIEW_TITLES[this.settings.view]);
    } finally {
      if (ticket === this.#renders) {
        main.setAttribute('aria-busy', 'false');
        main.setAttribute('data-ready', this.settings.view);
      }
    }
  }

  /**
   * The tabs are made once and only their active mark changes: replacing the buttons on a
   * redraw would drop a click whose mousedown ended a text field's edit (its change event
   * redraws between mousedown and mouseup).
   */
  #renderNav(): void {
    const nav = this.el.nav;
    if (nav.childElementCount !== VIEWS.length) {
      nav.replaceChildren(
        ...VIEWS.map((v) =>
          h('button', { 'data-view': v, onclick: () => this.update({ view: v }) }, VIEW_TITLES[v]),
        ),
      );
    }
    for (const button of Array.from(nav.querySelectorAll<HTMLButtonElement>('button[data-view]'))) {
      const active = button.dataset.view === this.settings.view;
      button.classList.toggle('active', active);
      if (active) button.setAttribute('aria-current', 'page');
      else button.removeAttribute('aria-current');
    }
  }
}
