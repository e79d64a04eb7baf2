import { describeConformance } from '@qkv/conformance';
import { cpu } from '@qkv/tensor';
import { ATTENTION_GROUPS } from './groups.js';

describeConformance('cpu', cpu, ATTENTION_GROUPS);
