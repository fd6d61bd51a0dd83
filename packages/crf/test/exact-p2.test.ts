import { describeExactCase } from './exact-case.js';

describeExactCase('P2');
