import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { LAYERS, layerOf } from './layers.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const PRODUCT_FOLDERS = ['src', 'activities', 'workflows'];

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => join(folder, name));
}

/** Every relative module a file imports or re-exports, types and dynamic imports included. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => relative(ROOT, resolve(ROOT, dirname(file), name)).replace(/\.js$/, '.ts'));
}

/** Back-imports (a lower layer importing a higher one) among `files`, as "from → to" lines. */
export function backImports(files: readonly string[], importsOfFile: (file: string) => string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const from = layerOf(file)!;
    for (const target of importsOfFile(file)) {
      const to = layerOf(target);
      if (to !== undefined && to > from) {
        found.push(`${file} (${LAYERS[from]!.path}) imports ${target} (${LAYERS[to]!.path}), a higher layer`);
      }
    }
  }
  return found;
}

describe('layers', () => {
  const files = PRODUCT_FOLDERS.flatMap(sourceFiles);

  it('place every product file in a layer', () => {
    assert.ok(files.length > 50, `found only ${files.length} files under ${ROOT}`);
    assert.deepEqual(
      files.filter((file) => layerOf(file) === undefined),
      [],
      'add the folder to test/architecture/layers.ts',
    );
  });

  it('have every import point down (or within its own layer), so no folder depends on one above it', () => {
    assert.deepEqual(backImports(files, importsOf), []);
  });

  it('would catch a back-import: the pure core importing the runner', () => {
    const found = backImports(['src/loadtest/describe.ts'], () => ['src/runner/contract.ts']);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /src\/loadtest\/describe\.ts \(src\/loadtest\) imports src\/runner\/contract\.ts/);
  });

  it('would catch a type-only or dynamic import as well', () => {
    const imports = (source: string) =>
      ts.preProcessFile(source, true, true).importedFiles.map((imported) => imported.fileName);
    assert.deepEqual(imports("import type { X } from '../a.js'; const b = await import('./b.js');"), [
      '../a.js',
      './b.js',
    ]);
  });
});
