// Builtins over whole documents: walk (every [path, value] pair, pre-order,
// as the array OPA's plans scan) and graph.reachable.

import {
  TYPE_ARRAY, TYPE_OBJECT, TYPE_SET, makeArray, arrayAppend, arrayLen, arrayGet, objectLen, objectKeyAt,
  objectValueAt, objectGet, makeSet, setAdd, setContains, setLen, setAt, makeNumberI64,
} from '../value';
import { typeError } from '../errors';
import { needObject } from './util';

function pair(path: usize, v: usize): usize {
  const p = makeArray(2);
  arrayAppend(p, path);
  arrayAppend(p, v);
  return p;
}

function extend(path: usize, key: usize): usize {
  const n = arrayLen(path);
  const p = makeArray(n + 1);
  for (let i: usize = 0; i < n; i++) arrayAppend(p, arrayGet(path, i));
  arrayAppend(p, key);
  return p;
}

function walkInto(out: usize, path: usize, v: usize): void {
  arrayAppend(out, pair(path, v));
  const t = load<u8>(v);
  if (t == TYPE_ARRAY) {
    for (let i: usize = 0; i < arrayLen(v); i++) walkInto(out, extend(path, makeNumberI64(<i64>i)), arrayGet(v, i));
  } else if (t == TYPE_OBJECT) {
    for (let i: usize = 0; i < objectLen(v); i++) walkInto(out, extend(path, objectKeyAt(v, i)), objectValueAt(v, i));
  } else if (t == TYPE_SET) {
    for (let i: usize = 0; i < setLen(v); i++) walkInto(out, extend(path, setAt(v, i)), setAt(v, i));
  }
}

export function builtin_walk(v: usize): usize {
  const out = makeArray(16);
  walkInto(out, makeArray(0), v);
  return out;
}

function vertices(name: string, i: i32, v: usize): void {
  const t = load<u8>(v);
  if (t != TYPE_ARRAY && t != TYPE_SET) typeError(name, i, 'any of {set, array}', v);
}

/** Every node reachable from `initial` (nodes absent from the graph are not reached). */
export function builtin_graph_reachable(graph: usize, initial: usize): usize {
  needObject('graph.reachable', 1, graph);
  vertices('graph.reachable', 2, initial);
  const reached = makeSet();
  const queue = makeArray(16);
  const n0 = load<u8>(initial) == TYPE_ARRAY ? arrayLen(initial) : setLen(initial);
  for (let i: usize = 0; i < n0; i++) arrayAppend(queue, load<u8>(initial) == TYPE_ARRAY ? arrayGet(initial, i) : setAt(initial, i));
  for (let q: usize = 0; q < arrayLen(queue); q++) {
    const node = arrayGet(queue, q);
    if (setContains(reached, node)) continue;
    const edges = objectGet(graph, node);
    if (edges == 0) continue;
    setAdd(reached, node);
    const t = load<u8>(edges);
    if (t == TYPE_ARRAY) {
      for (let i: usize = 0; i < arrayLen(edges); i++) if (!setContains(reached, arrayGet(edges, i))) arrayAppend(queue, arrayGet(edges, i));
    } else if (t == TYPE_SET) {
      for (let i: usize = 0; i < setLen(edges); i++) if (!setContains(reached, setAt(edges, i))) arrayAppend(queue, setAt(edges, i));
    }
  }
  return reached;
}
