// Builtins implemented in the runtime; see ../README.md for the convention.
export * from './strings';
export * from './types';
export * from './numbers';
export * from './aggregates';
export * from './arrays';
export * from './objects';
export * from './sets';
export * from './encoding';
export * from './marshal';
export * from './units';
export * from './regex';
export * from './glob';
export * from './net';
export * from './time';
export * from './crypto';
export * from './bits';
export * from './semver';
