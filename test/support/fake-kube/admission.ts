// test/packaging/chart.test.ts reads selectorMatches from here; it lives in test/support/label-selector.ts.
export { selectorMatches } from '../label-selector.ts';
