// vitest globalSetup: runs in the main vitest process before any test worker starts, so the
// variables set here (LD_LIBRARY_PATH included) reach the workers that load Dawn. Under
// `npm test` the bootstrap script has already set them and this adds nothing.
import { softwareWebGPUEnv } from './env.mjs';

export default async function setup() {
  Object.assign(process.env, await softwareWebGPUEnv());
}
