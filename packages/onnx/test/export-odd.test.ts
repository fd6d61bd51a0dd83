// The export suite (export-suite.ts) over the odd-indexed cases.
import { casesOfHalf, describeExports } from './export-suite.js';

describeExports('every registered architecture, odd-indexed cases', casesOfHalf(1));
