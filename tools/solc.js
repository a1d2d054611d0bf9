#!/usr/bin/env node
// A stand-in for the native `solc` binary, backed by solc-js (the real compiler built to wasm,
// from the npm `solc` package). It implements the two modes py-solc-x and ape-solidity use:
//   solc --version
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths a,b]  (JSON in/out)
// Nothing is downloaded: the compiler comes from node_modules next to this repository.
'use strict';
const fs = require('fs');
const path = require('path');

const repo = path.resolve(__dirname, '..');
const solc = require(path.join(repo, 'node_modules', 'solc'));

const args = process.argv.slice(2);

function flagValues(name) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) out.push(args[++i]);
    else if (args[i].startsWith(name + '=')) out.push(args[i].slice(name.length + 1));
  }
  return out;
}

function write(text) {
  // Exit only from the write callback: node truncates piped stdout at 64 KiB otherwise.
  process.stdout.write(text, () => process.exit(0));
}

if (args.includes('--version')) {
  write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
} else if (args.includes('--standard-json')) {
  const roots = [...flagValues('--base-path'), ...flagValues('--include-path'), process.cwd(), repo];
  const findImports = (importPath) => {
    for (const root of roots) {
      const candidate = path.resolve(root, importPath);
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    return { error: 'File not found: ' + importPath };
  };
  const input = fs.readFileSync(0, 'utf8');
  write(solc.compile(input, { import: findImports }));
} else {
  process.stderr.write('tools/solc.js supports only --version and --standard-json\n');
  process.exit(2);
}
