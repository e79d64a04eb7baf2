// The software WebGPU adapter for machines without a GPU: SwiftShader's Vulkan driver, shipped
// brotli-compressed inside the npm package @sparticuz/chromium (bin/swiftshader.tar.br). It is
// unpacked once into node_modules/.cache/qkv-swiftshader with Node's own zlib and the small tar
// reader below, so a fresh clone needs nothing beyond `pnpm install`.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ICD_NAME = 'vk_swiftshader_icd.json';

/**
 * Entries of a ustar / GNU tar archive: `{ name, type, data }`. Only what the SwiftShader
 * archive uses: regular files ('0'), directories ('5'), symbolic links ('2', data is the
 * target) and GNU long names ('L').
 */
export function* readTar(buffer) {
  let offset = 0;
  let longName;
  while (offset + 512 <= buffer.length) {
    const header = buffer.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return; // end-of-archive marker
    const field = (start, length) =>
      header
        .subarray(start, start + length)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const data = buffer.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = data.toString('latin1').replace(/\0.*$/s, '');
      continue;
    }
    name = name.replace(/^\.\//, '');
    yield { name, type, data, linkName: field(157, 100) };
  }
}

/** Where @sparticuz/chromium keeps its brotli archives, or undefined when not installed. */
function chromiumBinDir() {
  try {
    const require = createRequire(import.meta.url);
    // The package's exports hide package.json; its entry point is build/<format>/index.*.
    const entry = require.resolve('@sparticuz/chromium');
    const bin = join(dirname(entry), '..', '..', 'bin');
    return existsSync(join(bin, 'swiftshader.tar.br')) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** The version of the @sparticuz/chromium package whose `bin` folder this is. */
function packageVersion(bin) {
  return JSON.parse(readFileSync(join(bin, '..', 'package.json'), 'utf8')).version;
}

/**
 * Unpack SwiftShader (once) and return the directory holding `vk_swiftshader_icd.json`, the
 * driver and the Vulkan loader. The ICD json is rewritten with an absolute `library_path` so
 * the loader finds the driver without LD_LIBRARY_PATH.
 */
export function unpackSwiftShader(cacheDir) {
  const bin = chromiumBinDir();
  // Named by the package version, so upgrading @sparticuz/chromium unpacks its driver anew.
  cacheDir ??=
    bin && join(root, 'node_modules', '.cache', `qkv-swiftshader-${packageVersion(bin)}`);
  if (!cacheDir) return undefined;
  const icd = join(cacheDir, ICD_NAME);
  if (existsSync(icd)) return cacheDir;
  if (!bin) return undefined;
  const archive = brotliDecompressSync(readFileSync(join(bin, 'swiftshader.tar.br')));
  // Unpack beside the cache dir and rename, so a concurrent or interrupted run never sees half.
  const staging = `${cacheDir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const entry of readTar(archive)) {
    if (entry.type !== '0' && entry.type !== '\0') continue;
    // The archive is flat; keep base names only so nothing escapes the cache dir.
    const base = entry.name.split('/').pop();
    if (base) writeFileSync(join(staging, base), entry.data, { mode: 0o755 });
  }
  const icdPath = join(staging, ICD_NAME);
  if (!existsSync(icdPath)) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`webgpu-env: ${ICD_NAME} not found in ${join(bin, 'swiftshader.tar.br')}`);
  }
  const manifest = JSON.parse(readFileSync(icdPath, 'utf8'));
  const library = manifest.ICD.library_path.split('/').pop();
  manifest.ICD.library_path = join(cacheDir, library);
  writeFileSync(icdPath, JSON.stringify(manifest, null, 2));
  mkdirSync(dirname(cacheDir), { recursive: true });
  try {
    renameSync(staging, cacheDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(icd)) throw error; // another process won the race otherwise
  }
  return cacheDir;
}

/**
 * Whether this process's environment already gives Dawn a Vulkan driver: an explicit ICD
 * setting, or a system ICD manifest (a real GPU's driver, or Mesa).
 */
function hasVulkanDriver(env = process.env) {
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return true;
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  return dirs.some((d) => existsSync(d));
}

/**
 * Environment variables a child process needs so Dawn (the `webgpu` package) finds a Vulkan
 * adapter: `{}` when a driver is already configured or installed (set QKV_SWIFTSHADER=1 to
 * force the software one) or another Dawn backend is chosen (QKV_DAWN_BACKEND), otherwise
 * SwiftShader's ICD and loader from @sparticuz/chromium.
 * `LD_LIBRARY_PATH` only takes effect in a process started after it is set.
 */
export async function softwareWebGPUEnv(env = process.env) {
  // Another Dawn backend (e.g. opengles on Mesa) must not see the EGL / GLES libraries that
  // sit beside SwiftShader in the cache dir.
  if (env.QKV_DAWN_BACKEND && env.QKV_DAWN_BACKEND !== 'vulkan') return {};
  if (env.QKV_SWIFTSHADER !== '1' && hasVulkanDriver(env)) return {};
  const dir = env.QKV_SWIFTSHADER_DIR || unpackSwiftShader();
  if (!dir) return {};
  const libraryPath = [dir, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return {
    VK_ICD_FILENAMES: join(dir, ICD_NAME),
    VK_DRIVER_FILES: join(dir, ICD_NAME),
    LD_LIBRARY_PATH: libraryPath,
    QKV_SWIFTSHADER_DIR: dir,
  };
}
