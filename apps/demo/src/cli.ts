#!/usr/bin/env node
// `npm start`: attention on the CPU backend, step by step, for a short sentence.
import { liveTensors } from '@qkv/tensor';
import { formatMatrix } from './format.js';
import { attentionWalkthrough } from './walkthrough.js';

const args = process.argv.slice(2);
const causal = args.includes('--causal');
const text = args.filter((a) => !a.startsWith('--')).join(' ') || 'the cat sat on the mat';
const tokens = text.split(/\s+/).filter(Boolean);
const dModel = 16;

console.log(`qkv: single-head ${causal ? 'causal ' : ''}self-attention on the CPU backend`);
console.log(`tokens (${tokens.length}): ${tokens.join(' | ')}   d_model = ${dModel}\n`);

const steps = attentionWalkthrough({ tokens, dModel, causal, seed: 7 });
const dims = Array.from({ length: dModel }, (_, i) => `d${i}`);
for (const step of steps) {
  const [rows, cols] = step.tensor.shape as [number, number];
  const colLabels = step.columns === 'tokens' ? tokens : dims;
  console.log(`${step.title}  [${rows} x ${cols}]  ${step.ms.toFixed(2)} ms`);
  console.log(`  ${step.note}`);
  console.log(formatMatrix(step.tensor.dataSync(), rows, cols, tokens, colLabels));
  console.log();
}
for (const step of steps) step.tensor.dispose();
console.log(
  `Live tensors after disposing: ${liveTensors()}. Try: pnpm --filter @qkv/demo cli --causal the trophy did not fit`,
);
