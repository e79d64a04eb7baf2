import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTar, softwareWebGPUEnv, unpackSwiftShader } from './env.mjs';

/** A one-file ustar archive built by hand: header, data padded to 512, two zero blocks. */
function tarOf(name, content) {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'latin1');
  header.write('0000644\0', 100);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('0', 156);
  const data = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  data.write(content);
  return Buffer.concat([header, data, Buffer.alloc(1024)]);
}

test('readTar yields each file with its name and bytes', () => {
  const entries = [...readTar(tarOf('./dir/hello.txt', 'hello tar'))];
  assert.equal(entries.length, 1);
  assert.equal(entries[0].name, 'dir/hello.txt');
  assert.equal(entries[0].data.toString(), 'hello tar');
});

test('SwiftShader unpacks with an absolute library path in its ICD manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-swiftshader-'));
  const cache = join(dir, 'cache');
  try {
    assert.equal(unpackSwiftShader(cache), cache);
    const manifest = JSON.parse(readFileSync(join(cache, 'vk_swiftshader_icd.json'), 'utf8'));
    assert.ok(manifest.ICD.library_path.startsWith(cache));
    assert.ok(existsSync(manifest.ICD.library_path));
    assert.ok(existsSync(join(cache, 'libvulkan.so.1')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the environment points Dawn at SwiftShader unless a driver is configured', async () => {
  const env = await softwareWebGPUEnv({ QKV_SWIFTSHADER: '1' });
  assert.match(env.VK_ICD_FILENAMES, /vk_swiftshader_icd\.json$/);
  assert.ok(env.LD_LIBRARY_PATH.startsWith(env.QKV_SWIFTSHADER_DIR));
  assert.deepEqual(await softwareWebGPUEnv({ VK_ICD_FILENAMES: '/some/icd.json' }), {});
});
