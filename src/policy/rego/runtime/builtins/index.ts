// Builtins implemented in the runtime; see ../README.md for the convention.
export * from './strings';
