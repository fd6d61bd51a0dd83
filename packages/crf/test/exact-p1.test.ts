import { describeExactCase } from './exact-case.js';

// P1 and P2 sit in two files so that vitest runs the two O(N^2) cases on two workers.
describeExactCase('P1');
