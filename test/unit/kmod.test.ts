import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { moduleClosure, moduleName, parseModulesBuiltin, parseModulesDep } from '../../lab/kmod.js';
import { BOOT_MODULES } from '../../lab/images.js';
import { fixture } from '../helpers.js';

test('module names drop the directory and compression suffix, and use _', () => {
  assert.is(moduleName('kernel/drivers/net/virtio_net.ko.xz'), 'virtio_net');
  assert.is(moduleName('kernel/fs/fuse/virtio-fs.ko'), 'virtio_fs');
});

test('6.1: virtio is modular; the closure lists dependencies first, each once', () => {
  const deps = parseModulesDep(fixture('kmod', 'modules.dep-6.1'));
  const builtin = parseModulesBuiltin(fixture('kmod', 'modules.builtin-6.1'));
  const order = moduleClosure(BOOT_MODULES, deps, builtin).map(moduleName);
  assert.equal(order, [
    'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_ring', 'virtio', 'virtio_pci', 'virtio_blk', 'failover',
    'net_failover', 'virtio_net',
  ], 'crc32c and ext4 are built into the cloud flavour');
});

test('6.12: virtio_pci is built in, modules are .ko.xz', () => {
  const deps = parseModulesDep(fixture('kmod', 'modules.dep-6.12'));
  const builtin = parseModulesBuiltin(fixture('kmod', 'modules.builtin-6.12'));
  assert.ok(builtin.has('virtio_pci'));
  assert.equal(moduleClosure(BOOT_MODULES, deps, builtin), [
    'kernel/drivers/block/virtio_blk.ko.xz',
    'kernel/net/core/failover.ko.xz',
    'kernel/drivers/net/net_failover.ko.xz',
    'kernel/drivers/net/virtio_net.ko.xz',
  ]);
});

test('6.1 generic flavour: ext4 is a module too, loaded after its dependencies', () => {
  const deps = parseModulesDep(fixture('kmod', 'modules.dep-6.1-generic'));
  const builtin = parseModulesBuiltin(fixture('kmod', 'modules.builtin-6.1-generic'));
  const order = moduleClosure(BOOT_MODULES, deps, builtin).map(moduleName);
  assert.equal(order.slice(-5), ['crc32c_generic', 'crc16', 'mbcache', 'jbd2', 'ext4']);
  assert.ok(order.indexOf('virtio_pci') < order.indexOf('virtio_blk'));
});

test('an unknown module or a broken modules.dep is an error', () => {
  const deps = parseModulesDep('kernel/a.ko: kernel/missing.ko\n');
  assert.throws(() => moduleClosure(['nope'], deps, new Set()), /nope is neither built in nor in modules\.dep/);
  assert.throws(() => moduleClosure(['a'], deps, new Set()), /no entry for it/);
});

test.run();
