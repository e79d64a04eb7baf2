// The attention explorer's entry point: lay out the controls, find a device, draw a view.

import { setDefaultDevice } from '@qkv/tensor';
import { App } from './app/app.js';
import { detectDevice } from './app/device.js';
import { cpuDevice } from './app/timing-device.js';
import { pickedCheckpoint } from './model/hub.js';
import { POSITION_SCHEMES, type PositionScheme } from './model/layer.js';
import { h } from './ui/dom.js';
import { catchGlobalErrors, showError } from './ui/error-panel.js';

const byId = (id: string) => document.getElementById(id)!;
/** GPT-2 small (124M parameters, about 550 MB of float32 safetensors). */
const DEFAULT_REPO = 'openai-community/gpt2';
const errors = byId('errors');
catchGlobalErrors(errors);

async function start(): Promise<void> {
  const device = await detectDevice(location.search);
  const badge = byId('device');
  if (device.webgpu) {
    const software = device.software ? ' (a software adapter: its shaders run on the CPU)' : '';
    badge.textContent = `${device.label}${software}`;
  } else {
    // Without WebGPU every tensor lives on the fast CPU device, the layer views' included.
    const fallback = await cpuDevice();
    setDefaultDevice(fallback.device);
    badge.textContent = `No WebGPU (${device.label}): everything runs on the ${fallback.name}.`;
    badge.dataset.backend = fallback.device.backend;
  }
  badge.dataset.software = String(device.software);
  badge.dataset.webgpu = String(device.webgpu);

  const weightsLabel = h('span', { class: 'note', 'data-testid': 'weights' });
  const progress = h('progress', { 'data-testid': 'load-progress', hidden: true });
  const progressLabel = h('span', { class: 'note', 'data-testid': 'load-progress-label' });
  const app = new App(
    {
      controls: byId('controls'),
      nav: byId('nav'),
      main: byId('main'),
      errors,
      weightsLabel,
      progress,
      progressLabel,
    },
    device,
  );
  // `?hub=<origin>` points the hub buttons at a mirror with the same layout (tests use it).
  const hub = new URLSearchParams(location.search).get('hub') ?? 'https://huggingface.co';
  const repo = h('input', {
    id: 'hub-repo',
    type: 'text',
    value: DEFAULT_REPO,
    size: 26,
    'aria-label': 'Hugging Face repository',
  });
  const resolveUrl = (name: string) => `${hub.replace(/\/+$/, '')}/${name}/resolve/main`;
  const checkpointFiles = h('input', {
    id: 'checkpoint-files',
    type: 'file',
    multiple: true,
    accept: '.json,.safetensors',
    onchange: (e: Event) => {
      const list = (e.target as HTMLInputElement).files;
      if (!list?.length) return;
      try {
        void app.loadFiles(pickedCheckpoint(list), 'local files');
      } catch (error) {
        showError(errors, error, 'Loading files');
      }
    },
  });
  const numberSelect = (id: string, label: string, options: number[], key: 'numHeads' | 'dModel') =>
    h(
      'label',
      {},
      `${label} `,
      h(
        'select',
        {
          id,
          onchange: (e: Event) =>
            app.update({ [key]: Number((e.target as HTMLSelectElement).value) }),
        },
        ...options.map((v) => h('option', { value: v, selected: v === app.settings[key] }, v)),
      ),
    );
  const sentence = h('input', {
    id: 'sentence',
    type: 'text',
    size: 70,
    value: app.settings.text,
    'aria-label': 'Sentence',
    onchange: (e: Event) => app.update({ text: (e.target as HTMLInputElement).value, token: 0 }),
  });
  const weightsFile = h('input', {
    id: 'weights-file',
    type: 'file',
    accept: '.safetensors',
    onchange: (e: Event) => {
      const file = (e.target as HTMLInputElement).files?.[0];
      if (file) void app.loadWeights(file);
    },
  });
  byId('controls').replaceChildren(
    h('div', { class: 'row' }, h('label', {}, 'Sentence ', sentence)),
    h(
      'div',
      { class: 'row' },
      numberSelect('heads', 'Heads', [1, 2, 4, 8], 'numHeads'),
      numberSelect('d-model', 'd_model', [16, 32, 64], 'dModel'),
      h(
        'label',
        {},
        'Seed ',
        h('input', {
          id: 'seed',
          type: 'number',
          value: app.settings.seed,
          style: 'width:5em',
          onchange: (e: Event) =>
            app.update({ seed: Number((e.target as HTMLInputElement).value) }),
        }),
      ),
      h(
        'label',
        {},
        h('input', {
          id: 'causal',
          type: 'checkbox',
          checked: app.settings.causal,
          onchange: (e: Event) => app.update({ causal: (e.target as HTMLInputElement).checked }),
        }),
        ' causal',
      ),
      h(
        'label',
        {},
        'Positions ',
        h(
          'select',
          {
            id: 'positions',
            onchange: (e: Event) =>
              app.update({ positions: (e.target as HTMLSelectElement).value as PositionScheme }),
          },
          ...POSITION_SCHEMES.map((p) =>
            h('option', { value: p, selected: p === app.settings.positions }, p),
          ),
        ),
      ),
      h(
        'label',
        { title: 'torch.nn.MultiheadAttention state dict or q/k/v_proj weights' },
        'Weights (.safetensors) ',
        weightsFile,
      ),
      h('button', { onclick: () => app.useRandomWeights() }, 'seeded random'),
      weightsLabel,
    ),
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          id: 'load-gpt2',
          onclick: () => {
            repo.value = DEFAULT_REPO;
            void app.loadFromHub(resolveUrl(DEFAULT_REPO));
          },
        },
        'Load GPT-2 small',
      ),
      h('label', {}, 'or a repository ', repo),
      h(
        'button',
        { id: 'load-hub', onclick: () => void app.loadFromHub(resolveUrl(repo.value.trim())) },
        'load',
      ),
      h(
        'label',
        { title: 'config.json, model.safetensors (or shards + index) and tokenizer.json' },
        'or checkpoint files ',
        checkpointFiles,
      ),
      progress,
      progressLabel,
    ),
  );
  await app.render();
}

start().catch((error) => showError(errors, error, 'Starting the explorer'));
