// The attention explorer's entry point: lay out the controls, find a device, draw a view.
import { App } from './app/app.js';
import { detectDevice } from './app/device.js';
import { POSITION_SCHEMES, type PositionScheme } from './model/layer.js';
import { h } from './ui/dom.js';
import { catchGlobalErrors, showError } from './ui/error-panel.js';

const byId = (id: string) => document.getElementById(id)!;
const errors = byId('errors');
catchGlobalErrors(errors);

async function start(): Promise<void> {
  const device = await detectDevice(location.search);
  const badge = byId('device');
  badge.textContent = device.webgpu
    ? `${device.label}${device.software ? ' (a software adapter: its shaders run on the CPU)' : ''}`
    : `No WebGPU: ${device.label}. Everything runs on the CPU.`;
  badge.dataset.software = String(device.software);
  badge.dataset.webgpu = String(device.webgpu);

  const weightsLabel = h('span', { class: 'note', 'data-testid': 'weights' });
  const app = new App(
    { controls: byId('controls'), nav: byId('nav'), main: byId('main'), errors, weightsLabel },
    device,
  );
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
  );
  await app.render();
}

start().catch((error) => showError(errors, error, 'Starting the explorer'));
