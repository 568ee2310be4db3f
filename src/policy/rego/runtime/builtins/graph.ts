// Builtins over whole documents: walk (every [path, value] pair, pre-order,
// as the array OPA's plans scan), graph.reachable and graph.reachable_paths.

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

function edgeCount(edges: usize): usize {
  const t = load<u8>(edges);
  return t == TYPE_ARRAY ? arrayLen(edges) : t == TYPE_SET ? setLen(edges) : 0;
}

function edgeAt(edges: usize, i: usize): usize {
  return load<u8>(edges) == TYPE_ARRAY ? arrayGet(edges, i) : setAt(edges, i);
}

/** True when none of the node's successors is in the graph. */
function terminal(graph: usize, edges: usize): bool {
  const n = edgeCount(edges);
  for (let i: usize = 0; i < n; i++) if (objectGet(graph, edgeAt(edges, i)) != 0) return false;
  return true;
}

/**
 * Depth-first from `root`, each node expanded once per initial node (which
 * also ends cycles). A path ends at a node outside the graph (excluded), at
 * a node without successors in the graph (included), or at a node expanded
 * before (included only if it has no successors in the graph) — the paths
 * OPA reports.
 */
function tracePaths(graph: usize, root: usize, path: usize, out: usize, expanded: usize): void {
  const edges = objectGet(graph, root);
  if (edges == 0) {
    if (arrayLen(path) > 0) setAdd(out, path);
    return;
  }
  if (setContains(expanded, root)) {
    setAdd(out, terminal(graph, edges) ? extend(path, root) : path);
    return;
  }
  setAdd(expanded, root);
  const next = extend(path, root);
  const n = edgeCount(edges);
  if (n == 0) {
    setAdd(out, next);
    return;
  }
  for (let i: usize = 0; i < n; i++) tracePaths(graph, edgeAt(edges, i), next, out, expanded);
}

export function builtin_graph_reachable_paths(graph: usize, initial: usize): usize {
  needObject('graph.reachable_paths', 1, graph);
  vertices('graph.reachable_paths', 2, initial);
  const out = makeSet();
  const n = edgeCount(initial);
  for (let i: usize = 0; i < n; i++) tracePaths(graph, edgeAt(initial, i), makeArray(0), out, makeSet());
  return out;
}
