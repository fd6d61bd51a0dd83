// The export suite (export-suite.ts) over the even-indexed cases, and the coverage of all cases.
import { casesOfHalf, describeCoverage, describeExports } from './export-suite.js';

describeCoverage();
describeExports('every registered architecture, even-indexed cases', casesOfHalf(0));
