#!/usr/bin/env node
// gltf-validate.js FILE... - run the Khronos glTF validator on each file and
// print one JSON line per file: {"file", "errors", "warnings", "infos", "messages"}.
// Exit 1 when any file has an error or a warning.
'use strict';
const fs = require('fs');
const path = require('path');
const validator = require(path.join(__dirname, 'node_modules', 'gltf-validator'));

async function main() {
  let bad = 0;
  for (const file of process.argv.slice(2)) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const report = await validator.validateBytes(bytes, {
      uri: path.basename(file),
      externalResourceFunction: (uri) =>
        Promise.resolve(new Uint8Array(fs.readFileSync(path.join(path.dirname(file), decodeURIComponent(uri))))),
    });
    const i = report.issues;
    const messages = i.messages.filter((m) => m.severity <= 1).map((m) => `${m.code} ${m.pointer || ''} ${m.message}`);
    console.log(JSON.stringify({ file, errors: i.numErrors, warnings: i.numWarnings, infos: i.numInfos, messages,
      textures: (report.info && report.info.resources || []).filter((r) => r.storage && r.image).length }));
    if (i.numErrors || i.numWarnings) bad = 1;
  }
  process.exit(bad);
}
main().catch((e) => { console.error('gltf-validate: ' + e.message); process.exit(2); });
