#!/usr/bin/env node
// Runs the compiled CLI; `npm install` builds it (root "prepare" script).
import { runCli } from '../dist/cli/main.js'

process.exitCode = await runCli(process.argv.slice(2))
