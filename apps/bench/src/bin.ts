#!/usr/bin/env node
import { runProcess } from './cli.js';

await runProcess();
